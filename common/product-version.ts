// The product's own version (package.json), for the event API's answers and logs.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const PRODUCT_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
