// The engine host: a child process of the extension host that owns the native engine, so an
// engine crash or a long generation never touches VS Code. It speaks the protocol of
// protocol.ts (JSON-RPC, Content-Length frames) on stdin/stdout; stdout carries nothing
// else (console output goes to stderr, which the client keeps as its log tail). It exits
// after `shutdown`, and when stdin closes (the extension host is gone).
import { format } from 'node:util';

import { createMessageConnection, StreamMessageWriter, type Logger, type ResponseMessage } from 'vscode-jsonrpc/node';

import { EngineHost } from './host/dispatch';
import { ResilientMessageReader, type FrameProblem } from './host/frame-reader';
import { errorCodeFor } from './protocol';

/** How long a stopping host waits for its last answers to be written before it exits anyway. */
const EXIT_GRACE_MS = 2000;

function writeStderr(...args: unknown[]): void {
  process.stderr.write(`${format(...args)}\n`);
}

/** Nothing but protocol frames may reach stdout: every console method writes to stderr. */
function redirectConsole(): void {
  console.log = writeStderr;
  console.info = writeStderr;
  console.debug = writeStderr;
  console.warn = writeStderr;
  console.error = writeStderr;
  console.trace = writeStderr;
}

const stderrLogger: Logger = {
  error: (message) => writeStderr(`jsonrpc error: ${message}`),
  warn: (message) => writeStderr(`jsonrpc warning: ${message}`),
  info: (message) => writeStderr(`jsonrpc: ${message}`),
  log: (message) => writeStderr(`jsonrpc: ${message}`),
};

/**
 * Stops reading and lets the event loop drain, so answers still queued in the writer (the
 * `shutdown` result) reach the client; a timer forces the exit if anything lingers.
 */
function exitWhenFlushed(): void {
  process.exitCode = 0;
  process.stdin.destroy();
  setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
}

function main(): void {
  redirectConsole();
  const writer = new StreamMessageWriter(process.stdout);
  const answerProblem = (problem: FrameProblem): void => {
    host.recordFailure();
    const answer: ResponseMessage = {
      jsonrpc: '2.0',
      id: problem.id,
      error: { code: errorCodeFor(problem.kind), message: problem.message, data: { kind: problem.kind } },
    };
    writer.write(answer).catch((e: unknown) => writeStderr('could not answer a malformed message:', e));
  };
  const reader = new ResilientMessageReader(process.stdin, answerProblem);
  const connection = createMessageConnection(reader, writer, stderrLogger);
  const host = new EngineHost(connection, exitWhenFlushed);
  connection.onRequest((method, params) => host.handle(method, params));
  connection.onNotification((method) => host.log('warn', `ignored the notification '${method}': the engine host takes requests only`));
  connection.onError(([error]) => writeStderr('protocol stream error:', error.message));
  // stdin closed: the extension host is gone (or closed the pipe to stop us).
  connection.onClose(() => host.stop());
  connection.listen();
}

main();
