// The shared test kit: filled by the one-source-of-truth work (issue 19).
export {};
