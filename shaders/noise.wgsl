// Counter-based random numbers keyed by (seed, step, cell): a transcription of src/model/noise.rs
// (u32 arithmetic wraps in WGSL as wrapping_* does in Rust), bit-identical to the CPU.

// pcg3d (Jarzynski & Olano, JCGT 2020).
fn pcg3d(v: vec3<u32>) -> vec3<u32> {
    var x = v.x * 1664525u + 1013904223u;
    var y = v.y * 1664525u + 1013904223u;
    var z = v.z * 1664525u + 1013904223u;
    x += y * z;
    y += z * x;
    z += x * y;
    x ^= x >> 16u;
    y ^= y >> 16u;
    z ^= z >> 16u;
    x += y * z;
    y += z * x;
    z += x * y;
    return vec3<u32>(x, y, z);
}

// Uniform number in [−1, 1) for (key, step, cell): 24 random bits times 2^-23, minus 1 (all exact).
fn uniform_signed(key: u32, step: u32, cell: u32) -> f32 {
    let a = pcg3d(vec3<u32>(cell, step, key)).x;
    return f32(a >> 8u) * (2.0 / 16777216.0) - 1.0;
}
