// `Alloy: Download Model…`: pick a recommended model (size, and whether it fits this machine's
// memory) or type a URL; the file downloads into the extension's global storage with a
// cancellable progress notification (bytes, speed, time left), resumes where it stopped, is
// checked against its published SHA-256, and becomes the completion model.
import * as os from 'node:os';
import * as vscode from 'vscode';

import { CATALOGUE, CATALOGUE_HOSTS, describeFit, RECOMMENDED_ID, type CatalogueEntry } from './models/catalogue';
import { downloadModel, DownloadError, type DownloadProgress, type DownloadResult } from './models/download';
import { SETTINGS_SECTION } from './settings';

interface Choice extends vscode.QuickPickItem {
  entry?: CatalogueEntry;
}

const MB = 1e6;

function progressMessage(p: DownloadProgress): string {
  const got = `${(p.receivedBytes / MB).toFixed(0)}${p.totalBytes !== null ? ` of ${(p.totalBytes / MB).toFixed(0)}` : ''} MB`;
  const speed = p.bytesPerSecond > 0 ? ` · ${(p.bytesPerSecond / MB).toFixed(1)} MB/s` : '';
  const left = p.secondsLeft !== null && p.secondsLeft > 0 ? ` · ${Math.ceil(p.secondsLeft)} s left` : '';
  return got + speed + left;
}

async function pick(): Promise<{ url: string; entry?: CatalogueEntry } | undefined> {
  const total = os.totalmem();
  const items: Choice[] = CATALOGUE.map((entry) => ({
    label: entry.label + (entry.id === RECOMMENDED_ID ? ' (recommended)' : ''),
    description: entry.use === 'completion' ? 'completions' : 'chat',
    detail: describeFit(entry, total),
    entry,
  }));
  items.push({ label: 'Download from a URL…', detail: 'an HTTPS link to a .gguf file' });
  const chosen = await vscode.window.showQuickPick(items, { title: 'Download a model', matchOnDetail: true });
  if (!chosen) return undefined;
  if (chosen.entry) return { url: chosen.entry.url, entry: chosen.entry };
  const url = await vscode.window.showInputBox({
    title: 'Download a model from a URL',
    prompt: 'HTTPS link to a .gguf file',
    validateInput: (v) => (/^https:\/\/\S+\.gguf(\?\S*)?$/i.test(v.trim()) ? undefined : 'an https:// URL ending in .gguf'),
  });
  return url ? { url: url.trim() } : undefined;
}

function explain(e: unknown): string {
  if (!(e instanceof DownloadError)) return e instanceof Error ? e.message : String(e);
  switch (e.kind) {
    case 'cancelled':
      return 'Download paused. Run Alloy: Download Model again to resume where it stopped.';
    case 'network':
      return `${e.message}. Run the download again to resume.`;
    case 'checksum_mismatch':
    case 'size_mismatch':
      return `${e.message}. The partial file was discarded; your current model is unchanged.`;
    case 'no_space':
    case 'insecure_url':
    case 'host_not_allowed':
    case 'too_many_redirects':
    case 'http_status':
    case 'bad_file_name':
      return e.message;
  }
}

/** Registers the command; `log` writes to the Alloy output channel. */
export function registerDownloadCommand(context: vscode.ExtensionContext, log: (line: string) => void): vscode.Disposable {
  // With a URL argument (scripts, tests, the first-run offer) the picker is skipped.
  return vscode.commands.registerCommand('alloy.downloadModel', async (args?: { url?: string }): Promise<DownloadResult | undefined> => {
    const given = args?.url ? { url: args.url, entry: CATALOGUE.find((e) => e.url === args.url) } : undefined;
    const choice = given ?? (await pick());
    if (!choice) return undefined;
    const folder = vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Alloy: downloading ${choice.entry?.label ?? choice.url}`, cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          const sub = token.onCancellationRequested(() => controller.abort());
          let reported = 0;
          try {
            return await downloadModel({
              url: choice.url,
              folder,
              signal: controller.signal,
              ...(choice.entry ? { allowedHosts: CATALOGUE_HOSTS } : {}),
              userAgent: `alloy-vscode/${String(context.extension.packageJSON.version)}`,
              onProgress: (p) => {
                const fraction = p.totalBytes ? (100 * p.receivedBytes) / p.totalBytes : 0;
                progress.report({ message: progressMessage(p), increment: Math.max(0, fraction - reported) });
                reported = Math.max(reported, fraction);
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      log(`downloaded ${result.path} (${result.bytes} bytes, sha256 ${result.sha256}${result.verified ? ', matches the published one' : ', no published hash to check'})`);
      if (!choice.entry || choice.entry.use === 'completion') {
        await vscode.workspace.getConfiguration(SETTINGS_SECTION).update('model.path', result.path, vscode.ConfigurationTarget.Global);
      } else {
        void vscode.window.showInformationMessage(`Alloy: ${choice.entry.label} saved to ${result.path}.`);
      }
      return result;
    } catch (e) {
      const message = explain(e);
      log(`download failed: ${message}`);
      void vscode.window.showErrorMessage(`Alloy: ${message}`);
      return undefined;
    }
  });
}
