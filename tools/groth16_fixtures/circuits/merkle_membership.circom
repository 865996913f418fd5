pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/switcher.circom";

// Poseidon Merkle membership proof, depth D.
// Level i: if pathIndices[i] == 0 the current node is the left child,
// else it is the right child; parent = Poseidon(left, right).
// Private: leaf, pathElements[D], pathIndices[D]; public input: root.
template MerkleMembership(D) {
    signal input leaf;
    signal input pathElements[D];
    signal input pathIndices[D];
    signal input root;

    component sw[D];
    component h[D];
    signal node[D + 1];
    node[0] <== leaf;
    for (var i = 0; i < D; i++) {
        // path bits must be boolean
        pathIndices[i] * (pathIndices[i] - 1) === 0;

        sw[i] = Switcher();
        sw[i].sel <== pathIndices[i];
        sw[i].L <== node[i];
        sw[i].R <== pathElements[i];

        h[i] = Poseidon(2);
        h[i].inputs[0] <== sw[i].outL;
        h[i].inputs[1] <== sw[i].outR;
        node[i + 1] <== h[i].out;
    }
    root === node[D];
}

component main {public [root]} = MerkleMembership(4);
