/** `fedcheck backend`: the stand-in homeserver backend (src/backend/server.ts). */
import { ExitError } from './main.js';

export async function runBackendCli(opts: { listen: string; serverName: string }): Promise<number> {
  const mod = await import('../backend/server.js').catch(() => null);
  if (!mod || typeof (mod as { runBackendCommand?: unknown }).runBackendCommand !== 'function') {
    throw new ExitError('the stand-in backend is not available in this build', 2);
  }
  return (mod as { runBackendCommand: (o: typeof opts) => Promise<number> }).runBackendCommand(opts);
}
