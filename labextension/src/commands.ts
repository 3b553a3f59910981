/**
 * The commands: "Open in spec3nb" (file browser, on `*_asn.json`) and "JWST Spec3"
 * (launcher). What they need from JupyterLab comes in through `ICommandContext`, so they can
 * be tested without a running application.
 */
import type { CommandRegistry } from '@lumino/commands';

import {
  associationCells,
  dirname,
  isAssociation,
  notebookContent,
  notebookNameFor,
  simulationCells,
  SIMULATED_MODES,
  uniqueNotebookPath
} from './notebook';

export namespace CommandIDs {
  export const openAssociation = 'spec3nb:open-association';
  export const newSimulation = 'spec3nb:new-simulation';
}

/** What the commands use from the application. */
export interface ICommandContext {
  /** The path of the item selected in the file browser, if any. */
  selectedPath(): string | undefined;
  /** The file browser's current directory. */
  currentDirectory(): string;
  /** Whether a file or directory exists on the server. */
  exists(path: string): Promise<boolean>;
  /** Save notebook JSON at `path`. */
  saveNotebook(path: string, content: { [key: string]: any }): Promise<void>;
  /** Open the notebook and run all its cells once its kernel has settled. */
  openAndRun(path: string): Promise<void>;
  /** Ask which simulated mode; null when cancelled. */
  askMode(modes: ReadonlyArray<{ mode: string; label: string }>): Promise<string | null>;
}

async function create(
  context: ICommandContext,
  dir: string,
  name: string,
  cells: string[],
  run: boolean
): Promise<string> {
  const path = await uniqueNotebookPath(dir, name, p => context.exists(p));
  await context.saveNotebook(path, notebookContent(cells));
  if (run) {
    await context.openAndRun(path);
  }
  return path;
}

/** Register the commands; returns their ids. */
export function registerCommands(
  commands: CommandRegistry,
  context: ICommandContext,
  icon?: CommandRegistry.ICommandOptions['icon']
): string[] {
  commands.addCommand(CommandIDs.openAssociation, {
    label: 'Open in spec3nb',
    caption: 'Create a notebook beside this association with a spec3nb session, and run it',
    isVisible: args => isAssociation((args.path as string) || context.selectedPath()),
    isEnabled: args => isAssociation((args.path as string) || context.selectedPath()),
    execute: async args => {
      const path = (args.path as string) || context.selectedPath();
      if (!path || !isAssociation(path)) {
        throw new Error(`spec3nb: not an association (*_asn.json): ${path ?? 'nothing selected'}`);
      }
      const name = path.split('/').pop() as string;
      return create(context, dirname(path), notebookNameFor(path), associationCells(name), args.run !== false);
    }
  });

  commands.addCommand(CommandIDs.newSimulation, {
    label: args => (args.isLauncher ? 'JWST Spec3' : 'New spec3nb Notebook (Simulated Data)'),
    caption: 'A notebook with a spec3nb session on a simulated dataset of a chosen mode',
    icon,
    execute: async args => {
      const mode = (args.mode as string) || (await context.askMode(SIMULATED_MODES));
      if (!mode) {
        return null;
      }
      const dir = typeof args.cwd === 'string' ? args.cwd : context.currentDirectory();
      return create(context, dir, `spec3nb_${mode}.ipynb`, simulationCells(mode), args.run !== false);
    }
  });
  return [CommandIDs.openAssociation, CommandIDs.newSimulation];
}
