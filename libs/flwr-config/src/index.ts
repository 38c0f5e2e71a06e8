/**
 * @fedgate/flwr-config — a Flower app's side of `flwr login`: the federations of
 * APP/pyproject.toml (`[tool.flwr.federations]`), and the files `flwr` reads back:
 * APP/.flwr/.credentials/<federation>.json and APP/.flwr/.gitignore.
 */
export * from './errors';
export * from './federation-config';
export * from './credentials';
export * from './flower-config';
export * from './credential-store';
export * from './flwr-version';
