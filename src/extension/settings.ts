// Reads Alloy's settings from the workspace configuration; problems go to the log.
import * as vscode from 'vscode';

import { parseSettings, type AlloySettings } from './settings-schema';

export const SETTINGS_SECTION = 'alloy';

export function readSettings(log: vscode.LogOutputChannel): AlloySettings {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const { settings, problems } = parseSettings((key) => config.get(key));
  for (const problem of problems) log.warn(`settings: ${problem}`);
  return settings;
}
