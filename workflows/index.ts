// The workflows the worker registers (bundled by the worker from this file).
export {};
