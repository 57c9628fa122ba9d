// Vitest setup file (both tiers): after each test file, the directories it made with
// makeTempDir are removed, so repeated runs do not fill the disk with GGUF files.
import { afterAll } from 'vitest';

import { removeTempDirs } from './paths';

afterAll(() => removeTempDirs());
