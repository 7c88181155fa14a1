/** The `meltano-cloud` command tree (built without running anything, so tests can inspect it). */
import { Command } from 'commander';
import type { Context } from './context.js';
import { authCommands } from './commands/auth.js';
import { orgBillingCommand, usageCommand } from './commands/billing.js';
import { configCommand } from './commands/config.js';
import { example } from './commands/common.js';
import { deploymentCommand, orgCommand, projectCommand } from './commands/resources.js';
import {
  historyCommand,
  jobCommand,
  logsCommand,
  runCommand,
  scheduleCommand,
} from './commands/runs.js';
import { stateCommand } from './commands/state.js';
import { docsCommand, webCommand } from './commands/web.js';

export const VERSION = '0.1.0';

export interface ProgramOptions {
  writeOut?: (text: string) => void;
  writeErr?: (text: string) => void;
}

export function createProgram(ctx: Context, options: ProgramOptions = {}): Command {
  const program = new Command('meltano-cloud')
    .description('Run Meltano projects on meltano-cloud from the command line.')
    .addHelpText(
      'after',
      '\nSettings are kept in $XDG_CONFIG_HOME/meltano-cloud/config.json (default ~/.config);\n' +
        'each can be overridden by an environment variable: MELTANO_CLOUD_BASE_URL,\n' +
        'MELTANO_CLOUD_TOKEN, MELTANO_CLOUD_ORGANIZATION, MELTANO_CLOUD_PROJECT,\n' +
        'MELTANO_CLOUD_DEPLOYMENT.\n',
    )
    .version(VERSION)
    .option('--utc', 'show times in UTC instead of your timezone')
    .option(
      '--config-path <file>',
      'settings file to use (default: $XDG_CONFIG_HOME/meltano-cloud/config.json; or MELTANO_CLOUD_CONFIG_PATH)',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: options.writeOut ?? ((s) => void process.stdout.write(s)),
      writeErr: options.writeErr ?? ((s) => void process.stderr.write(s)),
    })
    .hook('preAction', (_root, action) => {
      const globals = action.optsWithGlobals<{ utc?: boolean }>();
      ctx.globals.utc = globals.utc === true;
    });
  example(
    program,
    'meltano-cloud login',
    'meltano-cloud project use --name Analytics',
    'meltano-cloud run daily-load --deployment prod --wait',
  );

  for (const cmd of [
    ...authCommands(ctx),
    orgCommand(ctx).addCommand(orgBillingCommand(ctx)),
    usageCommand(ctx),
    projectCommand(ctx),
    deploymentCommand(ctx),
    scheduleCommand(ctx),
    runCommand(ctx),
    historyCommand(ctx),
    logsCommand(ctx),
    jobCommand(ctx),
    configCommand(ctx),
    stateCommand(ctx),
    webCommand(ctx),
    docsCommand(ctx),
  ])
    program.addCommand(cmd);

  // Commands made with `new Command()` do not inherit the program's settings by themselves.
  const inherit = (parent: Command) => {
    for (const sub of parent.commands) {
      sub.copyInheritedSettings(parent);
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/** Every command, depth first (for help checks). */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}
