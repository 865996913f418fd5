pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// h0 = Poseidon(x, seed); h_{i+1} = Poseidon(h_i, seed); out = h_{N-1}.
// Private input x; public input seed; public output out.
// Public signal order: out, seed (outputs first, then public inputs).
template PoseidonChain(N) {
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

component main {public [seed]} = PoseidonChain(4);
