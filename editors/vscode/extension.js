// The stackc extension's client: starts `stackc lsp` over stdio for stack
// files (language `stackc`, `*.stack.hcl`). Everything the editor shows
// beyond highlighting (diagnostics, hover, completion, definitions,
// rename, formatting) comes from the server; this file only starts it, and
// restarts it when `stackc.path` changes.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function createClient() {
  const command = vscode.workspace.getConfiguration('stackc').get('path') || 'stackc';
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  return new LanguageClient(
    'stackc',
    'stackc',
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: 'file', language: 'stackc' },
        { scheme: 'untitled', language: 'stackc' },
      ],
    },
  );
}

async function start() {
  client = createClient();
  try {
    await client.start();
  } catch (error) {
    const command = vscode.workspace.getConfiguration('stackc').get('path') || 'stackc';
    vscode.window.showErrorMessage(
      `stackc: could not start \`${command} lsp\` (${error && error.message ? error.message : error}). ` +
        'Install stackc, or set `stackc.path` to the binary.',
    );
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop().catch(() => {});
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('stackc.path')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
