// A Firestore emulator for tests: @firestore-emulator/server (a pure-JS gRPC
// implementation of the Firestore v1 API, so no Java and no gcloud), started
// in this process on a free port, and Firestore clients pointed at it.
//
//   const emu = await startFirestoreEmulator();
//   const db = emu.firestore();          // a @google-cloud/firestore client
//   const store = new FirestoreDocumentStore(db);
//   ...
//   emu.reset();                          // forget every document
//   await emu.close();                    // terminates the clients, stops the server
//
// Port: a free one is found by listening on port 0, closing, then starting
// the server on that port; if something took it meanwhile (EADDRINUSE) it
// tries again with another. The package binds 0.0.0.0 (it has no option for
// the interface), so the emulator is reachable from other hosts while it
// runs; the clients made here connect to 127.0.0.1.
//
// Clients: given `host` and `ssl: false` in their settings (no environment
// variable is set), and dummy service-account credentials so that the auth
// library never probes the GCE metadata server (which costs time and prints a
// MetadataLookupWarning). With ssl: false the client sends
// "Authorization: Bearer owner", which the emulator ignores. Beware that the
// client lets FIRESTORE_EMULATOR_HOST override the host setting: firestore()
// refuses to make a client when that variable names another host.
//
// Where the emulator differs from real Firestore, see test/document-store.test.ts
// (the list of EMULATOR_DEVIATIONS); in short: orderBy does not leave out
// documents without the field, the order is the insertion order where
// Firestore orders by document id, integers and doubles do not compare with
// each other, booleans have no order, strings order by UTF-16 units,
// increment() of a non-number fails, merge() drops fields whose names the
// client quotes (not letters/digits/_ only, e.g. "a-b"), dotted field paths
// in queries fail (after the client's retries, ~8 s), cursors/offset/select
// and where(x == NaN) are ignored, and no document size limit applies.
//
// Output: the emulator console.error()s the stack of any unexpected error it
// answers a commit with. One is expected, the deviation above that
// test/document-store.test.ts provokes on purpose (increment() of a
// non-number); while an emulator runs, exactly that message goes to
// EMULATOR_LOG instead of the test output. Anything else still prints.

import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FirestoreServer } from '@firestore-emulator/server';
import { Firestore, type Settings } from '@google-cloud/firestore';
import { freePort } from './range-server';

/** Where the emulator's expected complaints go (appended, one stack per line group). */
export const EMULATOR_LOG = path.join(tmpdir(), 'physlite-firestore-emulator.log');

const EXPECTED_NOISE = /^Invalid transform: .*\. increment transform can only be applied to an integer or a double field$/s;
let emulatorsRunning = 0;
let printError: typeof console.error | undefined;

/** Routes the emulator's expected complaint to EMULATOR_LOG while any emulator runs; returns the undo. */
function routeExpectedNoise(): () => void {
  if (emulatorsRunning++ === 0) {
    const print = console.error;
    printError = print;
    console.error = (...args: unknown[]) => {
      const e = args[0];
      if (args.length === 1 && e instanceof Error && EXPECTED_NOISE.test(e.message)) {
        try {
          appendFileSync(EMULATOR_LOG, `${new Date().toISOString()} pid ${process.pid}: ${e.stack ?? e.message}\n`);
          return;
        } catch {
          // no log file: print it after all
        }
      }
      print(...args);
    };
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--emulatorsRunning === 0 && printError) {
      console.error = printError;
      printError = undefined;
    }
  };
}

export interface FirestoreEmulator {
  /** 127.0.0.1:PORT, for the client setting `host` (or FIRESTORE_EMULATOR_HOST for other tools). */
  readonly host: string;
  readonly port: number;
  readonly projectId: string;
  /** The running server; `server.state.toJSON()` shows everything stored. */
  readonly server: FirestoreServer;
  /** A new client pointed at the emulator (settings add to or override the defaults). close() terminates it. */
  firestore(settings?: Settings): Firestore;
  /** Forgets every document of every project (clients stay usable). */
  reset(): void;
  /** Terminates the clients made by firestore(), then stops the server. Idempotent. */
  close(): Promise<void>;
}

export interface FirestoreEmulatorOptions {
  /** Project of the clients made by firestore() (default 'demo-test'; the emulator accepts any). */
  projectId?: string;
  /** Ports to try before giving up (default 10). */
  attempts?: number;
}

/** The emulator listens on every interface; see the note at the top. */
const BIND_ADDRESS = '0.0.0.0';
const CLIENT_HOST = '127.0.0.1';

function isAddressInUse(err: unknown): boolean {
  return err instanceof Error && /EADDRINUSE/.test(`${err.message} ${(err as { code?: unknown }).code ?? ''}`);
}

export async function startFirestoreEmulator(options: FirestoreEmulatorOptions = {}): Promise<FirestoreEmulator> {
  const projectId = options.projectId ?? 'demo-test';
  const attempts = options.attempts ?? 10;
  let server: FirestoreServer | undefined;
  let port = 0;
  for (let attempt = 1; !server; attempt++) {
    port = await freePort(BIND_ADDRESS);
    const candidate = new FirestoreServer();
    try {
      await candidate.start(port);
      server = candidate;
    } catch (err) {
      candidate.stop();
      if (!isAddressInUse(err) || attempt >= attempts) throw err;
    }
  }
  const running = server;
  const unrouteNoise = routeExpectedNoise();
  const host = `${CLIENT_HOST}:${port}`;
  const clients = new Set<Firestore>();
  let closed = false;

  return {
    host,
    port,
    projectId,
    server: running,
    firestore(settings: Settings = {}): Firestore {
      if (closed) throw new Error('the Firestore emulator is closed');
      const env = process.env.FIRESTORE_EMULATOR_HOST;
      if (env && env !== host) {
        throw new Error(`FIRESTORE_EMULATOR_HOST=${env} is set: the Firestore client would use it instead of this emulator (${host}); unset it`);
      }
      const db = new Firestore({
        projectId,
        host,
        ssl: false,
        credentials: { client_email: 'emulator@example.com', private_key: 'unused: the emulator does not check credentials' },
        ...settings,
      });
      clients.add(db);
      return db;
    },
    reset(): void {
      running.state.clear();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...clients].map((db) => db.terminate()));
      clients.clear();
      running.stop();
      unrouteNoise();
    },
  };
}
