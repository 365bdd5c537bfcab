//! Conversions between the units users give and the SI units the model reports.

/// 1 mAh/cm² in C/m² (3.6 C per 1e-4 m²).
pub const MAH_CM2_IN_C_M2: f64 = 36_000.0;
