// What every bin shares: filled by the one-source-of-truth work (issue 19).
export {};
