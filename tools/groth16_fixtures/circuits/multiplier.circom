pragma circom 2.1.0;

// Tiny test circuit: c = a*b and d = c*a (two multiplication constraints).
// Private inputs a, b; public outputs c, d (nPublic = 2, in order c, d).
template Multiplier() {
    signal input a;
    signal input b;
    signal output c;
    signal output d;

    c <== a * b;
    d <== c * a;
}

component main = Multiplier();
