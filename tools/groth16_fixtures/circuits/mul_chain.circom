pragma circom 2.1.0;

// Small BLS12-381 test circuit (compiled with `-p bls12381`): 12 multiplication
// constraints. Private input x, public input k:
//     y[0] = x*x,   y[i] = y[i-1]*x + k  (i = 1..11),   out = y[11].
// Public signals (snarkjs order): out, k  (nPublic = 2).
template MulChain(N) {
    signal input x;
    signal input k;
    signal output out;
    signal y[N];

    y[0] <== x * x;
    for (var i = 1; i < N; i++) {
        y[i] <== y[i - 1] * x + k;
    }
    out <== y[N - 1];
}

component main {public [k]} = MulChain(12);
