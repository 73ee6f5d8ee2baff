//! A terminal line chart of a range result: Unicode braille dots (2×4 per cell), one colour
//! per series (ANSI, off when not wanted), a y axis with SI-scaled values and the unit the
//! metric name implies (`_seconds` → s, `_bytes` → B), a UTC time axis and a legend.
//! Results that are not a matrix are shown as a table.

use std::io::{self, Write};

use crate::model::{Labels, METRIC_NAME};
use crate::promql::value::{Series, Value};

/// Chart size and colour.
#[derive(Clone, Copy, Debug)]
pub struct ChartOptions {
    /// Total width in columns.
    pub width: usize,
    /// Plot height in rows.
    pub height: usize,
    pub color: bool,
}

impl Default for ChartOptions {
    fn default() -> ChartOptions {
        ChartOptions {
            width: 100,
            height: 20,
            color: false,
        }
    }
}

const PALETTE: [u8; 6] = [32, 33, 34, 35, 36, 31];

/// `1.5k`, `20M`, `3.2m`, with three significant digits at most.
pub fn si(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return super::format_value(v);
    }
    const UP: [(f64, &str); 5] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    const DOWN: [(f64, &str); 3] = [(1e-3, "m"), (1e-6, "µ"), (1e-9, "n")];
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e3 {
        UP.iter()
            .find(|(k, _)| a >= *k)
            .map_or((v, ""), |(k, s)| (v / k, *s))
    } else if a < 1.0 {
        DOWN.iter()
            .find(|(k, _)| a >= *k)
            .map_or((v, ""), |(k, s)| (v / k, *s))
    } else {
        (v, "")
    };
    let digits = if scaled.abs() >= 100.0 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{scaled:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// The unit a metric name implies, if all series agree.
fn unit(series: &[Series]) -> &'static str {
    let mut unit = None;
    for s in series {
        let name = s.labels.get(METRIC_NAME).unwrap_or("");
        let u = if name.ends_with("_seconds") || name.ends_with("_seconds_total") {
            "s"
        } else if name.ends_with("_bytes") || name.ends_with("_bytes_total") {
            "B"
        } else if name.ends_with("_ratio") {
            "ratio"
        } else if name.ends_with("_celsius") {
            "°C"
        } else {
            ""
        };
        match unit {
            None => unit = Some(u),
            Some(x) if x != u => return "",
            _ => {}
        }
    }
    unit.unwrap_or("")
}

fn time_label(ms: i64, span_ms: i64) -> String {
    let full = crate::model::time::format_rfc3339(ms - ms.rem_euclid(1000));
    // 2024-05-01T12:34:56Z
    if span_ms < 86_400_000 {
        full[11..19].to_string()
    } else {
        format!("{} {}", &full[5..10], &full[11..16])
    }
}

fn legend_name(l: &Labels) -> String {
    if l.is_empty() {
        "{}".into()
    } else {
        l.to_string()
    }
}

pub fn write_chart(w: &mut dyn Write, v: &Value, o: &ChartOptions) -> io::Result<()> {
    let Value::Matrix(series) = v else {
        return super::table::write_table(w, v);
    };
    if series.is_empty() {
        return Ok(());
    }
    let finite = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.v.is_finite());
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    for p in finite {
        lo = lo.min(p.v);
        hi = hi.max(p.v);
        t0 = t0.min(p.t);
        t1 = t1.max(p.t);
    }
    if lo > hi {
        return writeln!(w, "(no finite values to draw)");
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    if t0 == t1 {
        t1 = t0 + 1;
    }
    let unit = unit(series);
    let ticks: Vec<String> = (0..5)
        .map(|i| {
            let v = hi - (hi - lo) * i as f64 / 4.0;
            let s = si(v);
            if unit.is_empty() || unit == "ratio" {
                s
            } else {
                format!("{s}{unit}")
            }
        })
        .collect();
    let yw = ticks.iter().map(|t| t.chars().count()).max().unwrap_or(1);
    let cols = o.width.saturating_sub(yw + 2).max(10);
    let rows = o.height.max(4);
    let (pw, ph) = (cols * 2, rows * 4);
    // Per cell: braille bits and the colour of the last series drawn there.
    let mut bits = vec![0u8; cols * rows];
    let mut colour = vec![0usize; cols * rows];
    let px = |t: i64| (((t - t0) as f64 / (t1 - t0) as f64) * (pw - 1) as f64).round() as i64;
    let py = |v: f64| (((hi - v) / (hi - lo)) * (ph - 1) as f64).round() as i64;
    let mut plot = |x: i64, y: i64, c: usize| {
        if x < 0 || y < 0 || x >= pw as i64 || y >= ph as i64 {
            return;
        }
        let (cx, cy) = (x as usize / 2, y as usize / 4);
        let (dx, dy) = (x as usize % 2, y as usize % 4);
        let bit = match (dx, dy) {
            (0, 3) => 6,
            (1, 3) => 7,
            (0, d) => d,
            (_, d) => d + 3,
        };
        bits[cy * cols + cx] |= 1 << bit;
        colour[cy * cols + cx] = c;
    };
    for (si_, s) in series.iter().enumerate() {
        // A gap longer than twice the usual spacing breaks the line.
        let mut gaps: Vec<i64> = s.points.windows(2).map(|w| w[1].t - w[0].t).collect();
        gaps.sort_unstable();
        let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(i64::MAX);
        let mut prev: Option<(i64, i64, i64)> = None;
        for p in &s.points {
            if !p.v.is_finite() {
                prev = None;
                continue;
            }
            let (x, y) = (px(p.t), py(p.v));
            match prev {
                Some((x0, y0, pt)) if p.t - pt <= usual.saturating_mul(2) => {
                    // Bresenham.
                    let (dx, dy) = ((x - x0).abs(), -(y - y0).abs());
                    let (sx, sy) = (if x0 < x { 1 } else { -1 }, if y0 < y { 1 } else { -1 });
                    let (mut cx, mut cy, mut err) = (x0, y0, dx + dy);
                    loop {
                        plot(cx, cy, si_);
                        if cx == x && cy == y {
                            break;
                        }
                        let e2 = 2 * err;
                        if e2 >= dy {
                            err += dy;
                            cx += sx;
                        }
                        if e2 <= dx {
                            err += dx;
                            cy += sy;
                        }
                    }
                }
                _ => plot(x, y, si_),
            }
            prev = Some((x, y, p.t));
        }
    }
    let paint = |s: &str, c: usize| {
        if o.color {
            format!("\x1b[{}m{s}\x1b[0m", PALETTE[c % PALETTE.len()])
        } else {
            s.to_string()
        }
    };
    for r in 0..rows {
        let label = if r == 0 {
            Some(&ticks[0])
        } else if r == rows - 1 {
            Some(&ticks[4])
        } else if rows >= 8 && r == rows / 2 {
            Some(&ticks[2])
        } else if rows >= 8 && r == rows / 4 {
            Some(&ticks[1])
        } else if rows >= 8 && r == rows * 3 / 4 {
            Some(&ticks[3])
        } else {
            None
        };
        let mut line = match label {
            Some(l) => format!("{l:>yw$} ┤"),
            None => format!("{:>yw$} │", ""),
        };
        for c in 0..cols {
            let b = bits[r * cols + c];
            if b == 0 {
                line.push(' ');
            } else {
                let ch = char::from_u32(0x2800 + b as u32).unwrap_or(' ');
                line.push_str(&paint(&ch.to_string(), colour[r * cols + c]));
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    writeln!(w, "{:>yw$} └{}", "", "─".repeat(cols))?;
    let span = t1 - t0;
    let (a, m, b) = (
        time_label(t0, span),
        time_label(t0 + span / 2, span),
        time_label(t1, span),
    );
    let mut axis = vec![' '; cols + 1];
    let put = |axis: &mut Vec<char>, at: usize, s: &str| {
        let at = at.min(axis.len().saturating_sub(s.chars().count()));
        for (i, ch) in s.chars().enumerate() {
            if at + i < axis.len() {
                axis[at + i] = ch;
            }
        }
    };
    put(&mut axis, 0, &a);
    put(
        &mut axis,
        (cols / 2).saturating_sub(m.chars().count() / 2),
        &m,
    );
    put(&mut axis, cols, &b);
    let axis: String = axis.into_iter().collect();
    writeln!(w, "{:>yw$}  {} UTC", "", axis.trim_end())?;
    for (i, s) in series.iter().enumerate() {
        let mut name = legend_name(&s.labels);
        let max = o.width.saturating_sub(4).max(10);
        if name.chars().count() > max {
            name = name.chars().take(max - 1).collect::<String>() + "…";
        }
        writeln!(w, "{} {name}", paint("━━", i))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::value::Point;

    #[test]
    fn si_units() {
        assert_eq!(si(1500.0), "1.5k");
        assert_eq!(si(0.0032), "3.2m");
        assert_eq!(si(42.0), "42");
        assert_eq!(si(2e9), "2G");
    }

    #[test]
    fn draws_a_line() {
        let s = Series {
            labels: Labels::from_pairs([("__name__", "x_seconds")]).unwrap(),
            points: (0..10)
                .map(|i| Point {
                    t: i * 60_000,
                    v: i as f64,
                })
                .collect(),
        };
        let mut out = Vec::new();
        write_chart(
            &mut out,
            &Value::Matrix(vec![s]),
            &ChartOptions {
                width: 40,
                height: 6,
                color: false,
            },
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("9s ┤"), "{text}");
        assert!(text.contains("00:09:00 UTC"), "{text}");
        assert!(text.contains("━━ x_seconds"), "{text}");
        assert!(text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)));
    }
}
