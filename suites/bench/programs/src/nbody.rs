//! The outer-planets n-body simulation in f64: float arithmetic, `sqrt` and
//! division over a small struct array that lives in locals and the shadow stack.

use crate::sqrt;

const PI: f64 = core::f64::consts::PI;
const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS_PER_YEAR: f64 = 365.24;
const DT: f64 = 0.01;

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

impl Body {
    /// A body from its position (AU), velocity (AU per day) and mass (solar masses).
    const fn new(pos: [f64; 3], vel_per_day: [f64; 3], solar_masses: f64) -> Self {
        Body {
            pos,
            vel: [
                vel_per_day[0] * DAYS_PER_YEAR,
                vel_per_day[1] * DAYS_PER_YEAR,
                vel_per_day[2] * DAYS_PER_YEAR,
            ],
            mass: solar_masses * SOLAR_MASS,
        }
    }
}

/// The Sun and the four giant planets (heliocentric, an epoch's published elements).
fn solar_system() -> [Body; 5] {
    [
        Body::new([0.0; 3], [0.0; 3], 1.0),
        Body::new(
            [4.841_431_442_464_72, -1.160_320_044_027_428_4, -0.103_622_044_471_123_1],
            [0.001_660_076_642_744_037, 0.007_699_011_184_197_404, -0.000_069_046_000_693_386_75],
            0.000_954_791_938_424_326_6,
        ),
        Body::new(
            [8.343_366_718_244_58, 4.124_798_564_124_305, -0.403_523_417_114_321_4],
            [-0.002_767_425_107_268_624, 0.004_998_528_012_349_172, 0.000_023_041_729_757_376_393],
            0.000_285_885_980_666_130_8,
        ),
        Body::new(
            [12.894_369_562_139_131, -15.111_151_401_698_631, -0.223_307_578_892_655_73],
            [
                0.002_964_601_375_647_616,
                0.002_378_471_739_594_809_5,
                -0.000_029_658_956_854_023_756,
            ],
            0.000_043_662_440_433_515_64,
        ),
        Body::new(
            [15.379_697_114_850_917, -25.919_314_609_987_964, 0.179_258_772_950_371_18],
            [0.002_680_677_724_903_893_2, 0.001_628_241_700_382_423, -0.000_095_159_225_451_971_59],
            0.000_051_513_890_204_661_15,
        ),
    ]
}

/// `n` steps of `DT`; the checksum is the bits of the system's energy afterwards.
pub fn run(n: i32) -> i32 {
    let mut bodies = solar_system();
    offset_momentum(&mut bodies);
    for _ in 0..n.max(0) {
        advance(&mut bodies);
    }
    crate::fold64(energy(&bodies).to_bits())
}

/// Gives the Sun the momentum that makes the system's total zero.
fn offset_momentum(bodies: &mut [Body; 5]) {
    let mut momentum = [0.0; 3];
    for body in bodies.iter() {
        for (p, v) in momentum.iter_mut().zip(body.vel) {
            *p += v * body.mass;
        }
    }
    for (v, p) in bodies[0].vel.iter_mut().zip(momentum) {
        *v = -p / SOLAR_MASS;
    }
}

/// One step: pairwise gravity updates the velocities, then the positions move.
#[inline(never)]
fn advance(bodies: &mut [Body; 5]) {
    for i in 0..bodies.len() {
        let (head, tail) = bodies.split_at_mut(i + 1);
        let a = &mut head[i];
        for b in tail.iter_mut() {
            let d = [a.pos[0] - b.pos[0], a.pos[1] - b.pos[1], a.pos[2] - b.pos[2]];
            let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let mag = DT / (dist2 * sqrt(dist2));
            for (k, dk) in d.iter().enumerate() {
                a.vel[k] -= dk * b.mass * mag;
                b.vel[k] += dk * a.mass * mag;
            }
        }
    }
    for body in bodies.iter_mut() {
        for (p, v) in body.pos.iter_mut().zip(body.vel) {
            *p += DT * v;
        }
    }
}

/// Kinetic plus potential energy.
fn energy(bodies: &[Body; 5]) -> f64 {
    let mut e = 0.0;
    for (i, a) in bodies.iter().enumerate() {
        e += 0.5 * a.mass * (a.vel[0] * a.vel[0] + a.vel[1] * a.vel[1] + a.vel[2] * a.vel[2]);
        for b in &bodies[i + 1..] {
            let d = [a.pos[0] - b.pos[0], a.pos[1] - b.pos[1], a.pos[2] - b.pos[2]];
            e -= a.mass * b.mass / sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        }
    }
    e
}

#[cfg(test)]
mod tests {
    #[test]
    fn energies_match_the_published_reference() {
        let mut bodies = super::solar_system();
        super::offset_momentum(&mut bodies);
        let before = super::energy(&bodies);
        for _ in 0..1000 {
            super::advance(&mut bodies);
        }
        let after = super::energy(&bodies);
        assert!((before - -0.169_075_164).abs() < 1e-9, "{before}");
        // The figures the well-known n-body benchmark prints for 0 and 1000 steps.
        assert!((after - -0.169_087_605).abs() < 1e-9, "{after}");
    }
}
