/** A worker for client_test.ts that allocates and keeps everything from its start, until its heap cap stops it. */
const kept: number[][] = [];
for (;;) kept.push(new Array(100_000).fill(1.5));
