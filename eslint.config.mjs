// Lint exists to enforce Nx module boundaries: apps may import libs, libs never import
// apps, and libraries only depend on libraries of the scopes they are allowed to.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['dist/**', 'node_modules/**', '**/generated/**', '.fedgate/**', 'integrations/**', 'apps/cli/bin/**', 'prisma/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-require-imports': 'error',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:dev', onlyDependOnLibsWithTags: ['scope:shared', 'scope:dev'] },
          ],
        },
      ],
    },
  },
];
