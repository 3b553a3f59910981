import { CommandRegistry } from '@lumino/commands';

import { CommandIDs, ICommandContext, registerCommands } from '../commands';

class FakeContext implements ICommandContext {
  selected: string | undefined = 'data/lrs/jw01234-o001_spec3_00001_asn.json';
  cwd = 'work';
  files = new Set<string>(['data/lrs/jw01234-o001_spec3_00001_asn.json']);
  saved: { path: string; content: any }[] = [];
  ran: string[] = [];
  asked = 0;
  answer: string | null = 'nis_soss';

  selectedPath() {
    return this.selected;
  }
  currentDirectory() {
    return this.cwd;
  }
  async exists(path: string) {
    return this.files.has(path);
  }
  async saveNotebook(path: string, content: any) {
    this.files.add(path);
    this.saved.push({ path, content });
  }
  async openAndRun(path: string) {
    this.ran.push(path);
  }
  async askMode() {
    this.asked++;
    return this.answer;
  }
}

function setUp() {
  const commands = new CommandRegistry();
  const context = new FakeContext();
  const ids = registerCommands(commands, context);
  return { commands, context, ids };
}

const sources = (content: any) => content.cells.map((c: any) => c.source);

describe('registerCommands', () => {
  it('registers both commands with their labels', () => {
    const { commands, ids } = setUp();
    expect(ids).toEqual([CommandIDs.openAssociation, CommandIDs.newSimulation]);
    expect(commands.hasCommand('spec3nb:open-association')).toBe(true);
    expect(commands.hasCommand('spec3nb:new-simulation')).toBe(true);
    expect(commands.label(CommandIDs.openAssociation)).toBe('Open in spec3nb');
    expect(commands.label(CommandIDs.newSimulation, { isLauncher: true })).toBe('JWST Spec3');
  });

  it('shows "Open in spec3nb" on associations only', () => {
    const { commands, context } = setUp();
    expect(commands.isVisible(CommandIDs.openAssociation)).toBe(true);
    context.selected = 'data/lrs/truth.json';
    expect(commands.isVisible(CommandIDs.openAssociation)).toBe(false);
    expect(commands.isEnabled(CommandIDs.openAssociation)).toBe(false);
    context.selected = undefined;
    expect(commands.isVisible(CommandIDs.openAssociation)).toBe(false);
    expect(commands.isVisible(CommandIDs.openAssociation, { path: 'x/a_asn.json' })).toBe(true);
  });

  it('creates the notebook beside the association with the starter cells, and runs it', async () => {
    const { commands, context } = setUp();
    const path = await commands.execute(CommandIDs.openAssociation);
    expect(path).toBe('data/lrs/jw01234-o001_spec3_00001.ipynb');
    expect(context.saved).toHaveLength(1);
    expect(context.saved[0].path).toBe(path);
    expect(sources(context.saved[0].content)).toEqual([
      '%load_ext spec3nb',
      'session = %spec3 jw01234-o001_spec3_00001_asn.json'
    ]);
    expect(context.ran).toEqual([path]);
    // A second time: a new notebook, the first one is kept.
    expect(await commands.execute(CommandIDs.openAssociation)).toBe(
      'data/lrs/jw01234-o001_spec3_00001-1.ipynb'
    );
  });

  it('refuses to open something that is not an association', async () => {
    const { commands, context } = setUp();
    context.selected = 'data/lrs/truth.json';
    await expect(commands.execute(CommandIDs.openAssociation)).rejects.toThrow('not an association');
    expect(context.saved).toHaveLength(0);
    expect(context.ran).toHaveLength(0);
  });

  it('asks for a mode and creates a simulated-data notebook in the current folder', async () => {
    const { commands, context } = setUp();
    const path = await commands.execute(CommandIDs.newSimulation, { isLauncher: true });
    expect(context.asked).toBe(1);
    expect(path).toBe('work/spec3nb_nis_soss.ipynb');
    expect(sources(context.saved[0].content)).toEqual([
      '%load_ext spec3nb',
      'session = %spec3_simulate nis_soss'
    ]);
    expect(context.ran).toEqual([path]);
  });

  it('takes the mode and folder from the launcher arguments, and creates nothing when cancelled', async () => {
    const { commands, context } = setUp();
    const path = await commands.execute(CommandIDs.newSimulation, { mode: 'mir_lrs', cwd: 'sims', run: false });
    expect(path).toBe('sims/spec3nb_mir_lrs.ipynb');
    expect(context.asked).toBe(0);
    expect(context.ran).toEqual([]);
    context.answer = null;
    expect(await commands.execute(CommandIDs.newSimulation)).toBeNull();
    expect(context.saved).toHaveLength(1);
  });
});
