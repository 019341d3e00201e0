// `npm run temporal:install`: resolve (installing if needed) the Temporal CLI and test server.
import { resolveTemporalBinaries } from '../worker/temporal-cli';

const bins = resolveTemporalBinaries({ install: true });
process.stdout.write(`temporal CLI:         ${bins.cli}\ntime-skipping server: ${bins.testServer}\n`);
