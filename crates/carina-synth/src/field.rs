//! A float image buffer and the smooth-field tools the renderer is built
//! from: separable Gaussian-like blur, lattice value noise, line painting.

/// A `w` × `h` float image, row-major.
#[derive(Clone, Debug)]
pub struct Field {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Field {
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    #[inline]
    pub fn add(&mut self, x: usize, y: usize, v: f32) {
        self.data[y * self.w + x] += v;
    }

    /// Bilinear sample with clamping at the border.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let a = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let b = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        a * (1.0 - fy) + b * fy
    }

    /// Approximate Gaussian blur of standard deviation `sigma` pixels: three
    /// box blurs per axis (O(1) per pixel whatever the radius).
    pub fn blurred(&self, sigma: f32) -> Field {
        let mut out = self.clone();
        if sigma < 0.3 {
            return out;
        }
        // Box width whose three-fold convolution has variance sigma².
        let r = (((12.0 * sigma * sigma / 3.0) + 1.0).sqrt() / 2.0)
            .floor()
            .max(1.0) as usize;
        let mut tmp = vec![0.0f32; self.w.max(self.h)];
        for _ in 0..3 {
            for y in 0..self.h {
                let row = &mut out.data[y * self.w..(y + 1) * self.w];
                box_line(row, &mut tmp[..self.w], r);
            }
            let mut col = vec![0.0f32; self.h];
            for x in 0..self.w {
                for (y, c) in col.iter_mut().enumerate() {
                    *c = out.data[y * self.w + x];
                }
                box_line(&mut col, &mut tmp[..self.h], r);
                for (y, c) in col.iter().enumerate() {
                    out.data[y * self.w + x] = *c;
                }
            }
        }
        out
    }

    pub fn max(&self) -> f32 {
        self.data.iter().copied().fold(f32::MIN, f32::max)
    }
}

/// Running-mean filter of radius `r` with clamped edges, in place.
fn box_line(line: &mut [f32], tmp: &mut [f32], r: usize) {
    let n = line.len();
    if n == 0 {
        return;
    }
    let get = |i: isize| line[i.clamp(0, n as isize - 1) as usize];
    let norm = 1.0 / (2 * r + 1) as f32;
    let mut acc: f32 = (-(r as isize)..=r as isize).map(get).sum();
    for (i, t) in tmp.iter_mut().enumerate().take(n) {
        *t = acc * norm;
        acc += get(i as isize + r as isize + 1) - get(i as isize - r as isize);
    }
    line.copy_from_slice(&tmp[..n]);
}

#[inline]
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[inline]
pub fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Smooth random values on a square lattice, sampled with smoothstep
/// interpolation: cheap band-limited noise. Coordinates are in lattice
/// cells; the lattice wraps, so any coordinate is valid.
#[derive(Clone, Debug)]
pub struct Noise {
    n: usize,
    v: Vec<f32>,
}

impl Noise {
    pub fn new<R: rand::Rng>(rng: &mut R, n: usize) -> Self {
        let v = (0..n * n)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        Self { n, v }
    }

    #[inline]
    pub fn get(&self, x: f32, y: f32) -> f32 {
        let n = self.n as isize;
        let (xf, yf) = (x.floor(), y.floor());
        let (tx, ty) = (x - xf, y - yf);
        let (tx, ty) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let xi = (xf as isize).rem_euclid(n) as usize;
        let yi = (yf as isize).rem_euclid(n) as usize;
        let x1 = (xi + 1) % self.n;
        let y1 = (yi + 1) % self.n;
        let a = self.v[yi * self.n + xi];
        let b = self.v[yi * self.n + x1];
        let c = self.v[y1 * self.n + xi];
        let d = self.v[y1 * self.n + x1];
        lerp(lerp(a, b, tx), lerp(c, d, tx), ty)
    }

    /// Fractal sum of `octaves` octaves, roughly in [-1, 1].
    pub fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut s, mut amp, mut f, mut norm) = (0.0, 1.0, 1.0, 0.0);
        for o in 0..octaves {
            // Offset each octave so they do not share lattice points.
            let off = o as f32 * 17.31;
            s += amp * self.get(x * f + off, y * f - off);
            norm += amp;
            amp *= 0.5;
            f *= 2.03;
        }
        s / norm
    }
}

/// Adds a soft line segment (Gaussian cross-section of standard deviation
/// `sigma` px, peak `value`) from `a` to `b` (pixels) into `f`.
pub fn paint_segment(f: &mut Field, a: (f32, f32), b: (f32, f32), sigma: f32, value: f32) {
    let reach = 3.0 * sigma + 1.0;
    let x0 = (a.0.min(b.0) - reach).floor().max(0.0) as usize;
    let y0 = (a.1.min(b.1) - reach).floor().max(0.0) as usize;
    let x1 = ((a.0.max(b.0) + reach).ceil() as isize).min(f.w as isize - 1);
    let y1 = ((a.1.max(b.1) + reach).ceil() as isize).min(f.h as isize - 1);
    if x1 < x0 as isize || y1 < y0 as isize {
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    let inv = 1.0 / (2.0 * sigma * sigma);
    for y in y0..=y1 as usize {
        for x in x0..=x1 as usize {
            let (px, py) = (x as f32 - a.0, y as f32 - a.1);
            let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
            let (ex, ey) = (px - t * dx, py - t * dy);
            let d2 = ex * ex + ey * ey;
            if d2 < reach * reach {
                f.add(x, y, value * (-d2 * inv).exp());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_mass_and_spreads() {
        let mut f = Field::new(64, 64);
        f.data[32 * 64 + 32] = 1.0;
        let b = f.blurred(3.0);
        let sum: f32 = b.data.iter().sum();
        assert!((sum - 1.0).abs() < 1e-3, "sum {sum}");
        assert!(b.at(32, 32) < 0.1 && b.at(35, 32) > 0.0);
    }

    #[test]
    fn noise_is_bounded_and_continuous() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = Noise::new(&mut rng, 16);
        for i in 0..1000 {
            let x = i as f32 * 0.037;
            let v = n.fbm(x, x * 0.5, 4);
            assert!((-1.0..=1.0).contains(&v));
            assert!((n.get(x, 1.0) - n.get(x + 0.001, 1.0)).abs() < 0.01);
        }
    }
}
