/**
 * spec3nb's JupyterLab extension: "Open in spec3nb" on associations in the file browser and
 * the "JWST Spec3" launcher card (the MIME renderer is the mimeExtension in ./mime).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { CommandIDs, ICommandContext, registerCommands } from './commands';
import { waitForSettledKernel } from './kernel';

export { CommandIDs } from './commands';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161">
<circle cx="4" cy="12" r="2.5"/><circle cx="12" cy="6" r="2.5"/><circle cx="12" cy="18" r="2.5"/>
<circle cx="20" cy="12" r="2.5"/>
<path d="M5.5 11 10.5 7M5.5 13l5 4M13.5 7l5 4M13.5 17l5-4" stroke="#616161" stroke-width="1.2" fill="none"/>
</g></svg>`;

export const spec3Icon = new LabIcon({ name: 'spec3nb:pipeline', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'spec3nb:plugin',
  description: 'Open JWST associations in spec3nb notebooks; the JWST Spec3 launcher card.',
  autoStart: true,
  requires: [IFileBrowserFactory, IDocumentManager],
  optional: [ILauncher],
  activate: (
    app: JupyterFrontEnd,
    browserFactory: IFileBrowserFactory,
    docManager: IDocumentManager,
    launcher: ILauncher | null
  ) => {
    const contents = app.serviceManager.contents;
    const context: ICommandContext = {
      selectedPath: () => {
        const browser = browserFactory.tracker.currentWidget;
        const item = browser?.selectedItems().next();
        return item && !item.done ? item.value.path : undefined;
      },
      currentDirectory: () => browserFactory.tracker.currentWidget?.model.path ?? '',
      // By listing the folder: a GET of a missing file would log a 404 in the console.
      exists: async path => {
        const at = path.lastIndexOf('/');
        const dir = at < 0 ? '' : path.slice(0, at);
        const listing = await contents.get(dir, { type: 'directory', content: true });
        return (listing.content as { path: string }[]).some(item => item.path === path);
      },
      saveNotebook: async (path, content) => {
        await contents.save(path, { type: 'notebook', format: 'json', content });
      },
      openAndRun: async path => {
        const panel = docManager.openOrReveal(path, 'Notebook') as NotebookPanel | undefined;
        if (!panel) {
          throw new Error(`spec3nb: could not open ${path}`);
        }
        await panel.context.ready;
        await panel.sessionContext.ready;
        await waitForSettledKernel(panel.sessionContext);
        await NotebookActions.runAll(panel.content, panel.sessionContext);
      },
      askMode: async modes => {
        const labels = modes.map(m => `${m.mode} (${m.label})`);
        const result = await InputDialog.getItem({
          title: 'JWST Spec3: a notebook on a simulated dataset',
          label: 'Observing mode',
          items: labels,
          current: labels.findIndex(l => l.startsWith('mir_lrs'))
        });
        if (!result.button.accept || result.value === null) {
          return null;
        }
        return modes[labels.indexOf(result.value)]?.mode ?? null;
      }
    };

    registerCommands(app.commands, context, spec3Icon);
    // Errors of the commands: a dialog, not only the console.
    app.commands.commandExecuted.connect((_, args) => {
      if (args.id === CommandIDs.openAssociation || args.id === CommandIDs.newSimulation) {
        args.result.catch((reason: unknown) => {
          void showErrorMessage('spec3nb', String(reason instanceof Error ? reason.message : reason));
        });
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.openAssociation,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 1
    });
    if (launcher) {
      launcher.add({
        command: CommandIDs.newSimulation,
        // Its own section ("Notebook" and "Console" cards are kernel cards, without icons).
        category: 'JWST',
        rank: 1,
        args: { isLauncher: true }
      });
    }
  }
};

export default plugin;
