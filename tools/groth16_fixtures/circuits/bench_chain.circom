pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// Benchmark circuit: N chained Poseidon(2) hashes, 240 constraints each (circom2 --O2).
// h0 = Poseidon(x, seed); h_{i+1} = Poseidon(h_i, seed); out = h_{N-1}.
// Private input x; public input seed; public output out.
// circom takes no template parameters on the command line: bench_build.sh writes the main
// component `component main {public [seed]} = BenchChain(N);` into a per-N file that includes this one.
template BenchChain(N) {
    signal input x;
    signal input seed;
    signal output out;

    component h[N];
    for (var i = 0; i < N; i++) {
        h[i] = Poseidon(2);
        h[i].inputs[0] <== i == 0 ? x : h[i - 1].out;
        h[i].inputs[1] <== seed;
    }
    out <== h[N - 1].out;
}
