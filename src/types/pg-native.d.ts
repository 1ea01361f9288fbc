/**
 * The part of pg-native (3.9, no types shipped) and its libpq binding that src/store/postgres.ts
 * uses: a synchronous connection, the raw result accessors (for the affected-row count and our
 * own type parsing, which pg-native's querySync does not expose) and pipeline mode (an event's
 * statements in one request).
 */
declare module 'pg-native' {
  interface Libpq {
    exec(text: string): void;
    execParams(text: string, values: (string | null)[]): void;
    prepare(name: string, text: string, nParams: number): void;
    execPrepared(name: string, values: (string | null)[]): void;
    resultStatus(): string;
    resultErrorMessage(): string;
    resultErrorFields(): { sqlState?: string; messagePrimary?: string; detail?: string } | null;
    errorMessage(): string;
    ntuples(): number;
    nfields(): number;
    fname(i: number): string;
    ftype(i: number): number;
    getvalue(row: number, col: number): string;
    getisnull(row: number, col: number): boolean;
    cmdTuples(): string;
    transactionStatus(): number;
    /** Pipeline mode (libpq 14+): several statements sent at once, their results read in order. */
    enterPipelineMode(): boolean;
    exitPipelineMode(): boolean;
    pipelineSync(): boolean;
    sendQueryParams(text: string, values: (string | null)[]): boolean;
    sendQueryPrepared(name: string, values: (string | null)[]): boolean;
    /** Makes the next result current; false when there is none (the end of a statement's results). */
    getResult(): boolean;
    finish(): void;
  }
  class Client {
    constructor(config?: { types?: unknown; arrayMode?: boolean });
    readonly pq: Libpq;
    connectSync(params?: string): void;
    querySync(text: string, values?: unknown[]): Record<string, unknown>[];
    end(cb?: () => void): void;
  }
  export = Client;
}
