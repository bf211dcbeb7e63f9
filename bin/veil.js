#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so a clone needs no build step.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('tsx/esm', pathToFileURL('./'));
await import('../src/cli/main.ts');
