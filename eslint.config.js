// ESLint for the TypeScript and the build scripts: the recommended rules of
// ESLint and typescript-eslint, without the type-aware ones (they would
// type-check the tree a second time; `tsc` already does), and with the
// stylistic rules off (prettier formats: see .prettierrc).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // memwhy escapes control characters (paths, argv) for the terminal on purpose.
      'no-control-regex': 'off',
      // Tests match printed output, whose indentation reads better as it is printed than as ` {4}`.
      'no-regex-spaces': 'off',
    },
  },
);
