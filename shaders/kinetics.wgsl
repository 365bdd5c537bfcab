// Butler–Volmer kinetics through the sub-grid interphase resistance (R1): a transcription of
// src/model/kinetics.rs. MAX_EXPONENT and NEWTON_STEPS come from Rust (kernels.rs header).

// Mirrors the private NEGLIGIBLE_RESISTANCE of kinetics.rs: below this ASR·k·f the IR drop is
// neglected.
const NEGLIGIBLE_RESISTANCE: f32 = 1.0e-7f;

fn clamped_exp(x: f32) -> f32 {
    return exp(clamp(x, -MAX_EXPONENT, MAX_EXPONENT));
}

// B(η, c) = exp((1−α) f η) − c exp(−α f η) and ∂B/∂η.
fn butler_volmer(f: f32, alpha: f32, eta: f32, c: f32) -> vec2<f32> {
    let anodic = clamped_exp((1.0 - alpha) * f * eta);
    let cathodic = c * clamped_exp(-alpha * f * eta);
    return vec2<f32>(anodic - cathodic, f * ((1.0 - alpha) * anodic + alpha * cathodic));
}

// Principal Lambert W of z = exp(ln_z).
fn lambert_w_from_ln(ln_z: f32) -> f32 {
    if (ln_z > 1.0) {
        var w = ln_z - log(ln_z);
        for (var s = 0; s < 3; s++) {
            w -= (w + log(w) - ln_z) / (1.0 + 1.0 / w);
        }
        return w;
    }
    let z = exp(ln_z);
    var w = z / (1.0 + z);
    for (var s = 0; s < 4; s++) {
        let ew = exp(w);
        w -= (w * ew - z) / (ew * (1.0 + w));
    }
    return w;
}

// (η_loc − η_a)/ASR + k B(η_loc, c) = 0 solved for η_loc; returns (B(η_loc), dB(η_loc)/dη_a).
fn bv_through_resistance(f: f32, alpha: f32, eta_a: f32, c: f32, asr: f32, i_scale: f32) -> vec2<f32> {
    let ba = butler_volmer(f, alpha, eta_a, c);
    if (asr * i_scale * f <= NEGLIGIBLE_RESISTANCE || ba.x == 0.0) {
        return ba;
    }
    let c_safe = max(c, 1.0e-12);
    let eta_eq = log(c_safe) / f;
    var lo = select(eta_eq, eta_a, eta_a < eta_eq);
    var hi = select(eta_a, eta_eq, eta_a < eta_eq);
    var eta: f32;
    if (ba.x < 0.0) {
        // Plating, cathodic Tafel: (η − η_a)/ASR = k c e^{−αfη}.
        let af = alpha * f;
        let w = lambert_w_from_ln(log(asr * af * i_scale * c_safe) - af * eta_a);
        eta = eta_a + w / af;
    } else {
        // Stripping, anodic Tafel: (η_a − η)/ASR = k e^{(1−α)fη}.
        let bf = (1.0 - alpha) * f;
        let w = lambert_w_from_ln(log(asr * bf * i_scale) + bf * eta_a);
        eta = eta_a - w / bf;
    }
    eta = clamp(eta, lo, hi);
    let inv_asr = 1.0 / asr;
    for (var s = 0u; s < NEWTON_STEPS; s++) {
        let b = butler_volmer(f, alpha, eta, c);
        let g = (eta - eta_a) * inv_asr + i_scale * b.x;
        if (g > 0.0) {
            hi = eta;
        } else {
            lo = eta;
        }
        let next = eta - g / (inv_asr + i_scale * b.y);
        eta = select(0.5 * (lo + hi), next, next >= lo && next <= hi);
    }
    let b = butler_volmer(f, alpha, eta, c);
    return vec2<f32>(b.x, b.y / (1.0 + asr * i_scale * b.y));
}
