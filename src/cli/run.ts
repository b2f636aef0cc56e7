// Entry for running the CLI from source (tests, development): `node --import tsx src/cli/run.ts …`.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
