//! Outpost's charts: a time series with its min–max band, its average line and threshold
//! lines, drawn as SVG with plotters. One module for the dashboards (shown as images, never
//! as markup in the page) and, later, the PDF reports.
//!
//! Text is drawn as SVG text in a generic sans-serif family, so no font files are needed
//! here; the viewer (a browser, the PDF renderer) draws it.

mod bars;

pub use bars::{render_bars, BarSeries, BarSpec, Region};

use chrono::{DateTime, Duration, Local, Utc};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub label: String,
    pub severity: Severity,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub title: String,
    /// `%`, `°C`, `B/s` (bytes per second are shown as KB/s, MB/s…).
    pub unit: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The spacing of points: a longer gap is drawn as a gap (the endpoint was offline).
    pub step_secs: i64,
    pub points: Vec<Point>,
    pub thresholds: Vec<Threshold>,
    /// Percentages run 0–100; other units start at 0 and fit the data.
    pub percent: bool,
    pub theme: Theme,
    pub width: u32,
    pub height: u32,
}

struct Palette {
    background: RGBColor,
    text: RGBColor,
    grid: RGBColor,
    grid_light: RGBColor,
    line: RGBColor,
    warning: RGBColor,
    critical: RGBColor,
}

fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Light => Palette {
            background: RGBColor(255, 255, 255),
            text: RGBColor(60, 64, 67),
            grid: RGBColor(218, 220, 224),
            grid_light: RGBColor(241, 243, 244),
            line: RGBColor(37, 99, 235),
            warning: RGBColor(217, 119, 6),
            critical: RGBColor(220, 38, 38),
        },
        Theme::Dark => Palette {
            background: RGBColor(23, 24, 28),
            text: RGBColor(201, 204, 209),
            grid: RGBColor(58, 61, 68),
            grid_light: RGBColor(36, 38, 43),
            line: RGBColor(96, 165, 250),
            warning: RGBColor(251, 191, 36),
            critical: RGBColor(248, 113, 113),
        },
    }
}

/// A value with its unit, short (`73 %`, `1.2 MB/s`, `41 °C`).
pub fn format_value(v: f64, unit: &str) -> String {
    if unit == "B/s" {
        let (n, u) = match v.abs() {
            x if x >= 1e9 => (v / 1e9, "GB/s"),
            x if x >= 1e6 => (v / 1e6, "MB/s"),
            x if x >= 1e3 => (v / 1e3, "KB/s"),
            _ => (v, "B/s"),
        };
        return if n.abs() >= 10.0 || u == "B/s" {
            format!("{n:.0} {u}")
        } else {
            format!("{n:.1} {u}")
        };
    }
    format!("{v:.0} {unit}")
}

/// Runs of points with no gap longer than twice the step.
fn segments(points: &[Point], step_secs: i64) -> Vec<&[Point]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if (points[i].at - points[i - 1].at).num_seconds() > 2 * step_secs.max(1) {
            out.push(&points[start..i]);
            start = i;
        }
    }
    if start < points.len() {
        out.push(&points[start..]);
    }
    out
}

/// The chart as an SVG document.
pub fn render(spec: &Spec) -> Result<String, String> {
    let mut svg = String::new();
    draw(spec, &mut svg).map_err(|e| format!("the chart could not be drawn: {e}"))?;
    Ok(svg)
}

fn draw(spec: &Spec, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let p = palette(spec.theme);
    let (w, h) = (spec.width.clamp(200, 2400), spec.height.clamp(120, 1600));
    let to = if spec.to > spec.from {
        spec.to
    } else {
        spec.from + Duration::minutes(1)
    };
    let top = spec
        .points
        .iter()
        .map(|x| x.max)
        .chain(spec.thresholds.iter().map(|t| t.value))
        .fold(0.0_f64, f64::max);
    let y_max = if spec.percent {
        100.0
    } else if top <= 0.0 {
        1.0
    } else {
        top * 1.15
    };
    let span = to - spec.from;
    let label_fmt = move |t: &DateTime<Utc>| {
        let local = t.with_timezone(&Local);
        if span <= Duration::hours(36) {
            local.format("%H:%M").to_string()
        } else {
            local.format("%d %b").to_string()
        }
    };
    let unit = spec.unit.clone();
    let y_fmt = move |v: &f64| format_value(*v, &unit);
    {
        let root = SVGBackend::with_string(out, (w, h)).into_drawing_area();
        root.fill(&p.background)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(16)
            .caption(&spec.title, ("sans-serif", 17).into_font().color(&p.text))
            .x_label_area_size(24)
            .y_label_area_size(64)
            .build_cartesian_2d(spec.from..to, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&label_fmt)
            .y_label_formatter(&y_fmt)
            .axis_style(p.grid)
            .bold_line_style(p.grid)
            .light_line_style(p.grid_light)
            .max_light_lines(2)
            .label_style(("sans-serif", 14).into_font().color(&p.text))
            .draw()?;

        for run in segments(&spec.points, spec.step_secs) {
            // The band from min to max keeps spikes visible at any resolution.
            let mut band: Vec<(DateTime<Utc>, f64)> =
                run.iter().map(|x| (x.at, x.max.min(y_max))).collect();
            band.extend(run.iter().rev().map(|x| (x.at, x.min.max(0.0))));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                p.line.mix(0.18).filled(),
            )))?;
            chart.draw_series(LineSeries::new(
                run.iter().map(|x| (x.at, x.avg.min(y_max))),
                p.line.stroke_width(2),
            ))?;
            if run.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(
                    (run[0].at, run[0].avg.min(y_max)),
                    3,
                    p.line.filled(),
                )))?;
            }
        }
        for t in &spec.thresholds {
            let color = match t.severity {
                Severity::Warning => p.warning,
                Severity::Critical => p.critical,
            };
            chart.draw_series(DashedLineSeries::new(
                [(spec.from, t.value), (to, t.value)],
                6,
                4,
                color.stroke_width(1),
            ))?;
            // Warnings are named at the left, critical limits at the right, so two close
            // lines keep readable labels.
            let (anchor, at) = match t.severity {
                Severity::Warning => (HPos::Left, spec.from),
                Severity::Critical => (HPos::Right, to),
            };
            let style = ("sans-serif", 13)
                .into_font()
                .color(&color)
                .pos(Pos::new(anchor, VPos::Bottom));
            chart.draw_series(std::iter::once(Text::new(
                t.label.clone(),
                (at, t.value),
                style,
            )))?;
        }
        if spec.points.is_empty() {
            let style = ("sans-serif", 16)
                .into_font()
                .color(&p.text)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(
                "No data for this range",
                (w as i32 / 2, h as i32 / 2),
                style,
            ))?;
        }
        root.present()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(points: Vec<Point>) -> Spec {
        let to = Utc::now();
        Spec {
            title: "CPU".into(),
            unit: "%".into(),
            from: to - Duration::hours(1),
            to,
            step_secs: 60,
            points,
            thresholds: vec![Threshold {
                value: 85.0,
                label: "alert 85 %".into(),
                severity: Severity::Warning,
            }],
            percent: true,
            theme: Theme::Dark,
            width: 640,
            height: 220,
        }
    }

    #[test]
    fn a_series_draws_its_line_band_threshold_and_labels() {
        let now = Utc::now();
        let points: Vec<Point> = (0..30)
            .map(|i| Point {
                at: now - Duration::minutes(50 - i),
                min: 10.0,
                avg: 20.0 + i as f64,
                max: 60.0,
            })
            .collect();
        let svg = render(&spec(points)).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("<polyline"), "the average line");
        assert!(svg.contains("<polygon"), "the min-max band");
        assert!(svg.contains("alert 85 %"), "the threshold's label");
        assert!(svg.contains("CPU\n"), "the title");
        assert!(svg.contains("100 %"), "the y axis runs to 100 %");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn gaps_stay_gaps_and_an_empty_range_says_so() {
        let now = Utc::now();
        let p = |m: i64| Point {
            at: now - Duration::minutes(m),
            min: 1.0,
            avg: 2.0,
            max: 3.0,
        };
        assert_eq!(segments(&[p(50), p(49), p(20), p(19)], 60).len(), 2);
        let svg = render(&spec(vec![])).unwrap();
        assert!(svg.contains("No data for this range"));
    }

    #[test]
    fn throughput_reads_in_the_unit_a_person_uses() {
        assert_eq!(format_value(1_500_000.0, "B/s"), "1.5 MB/s");
        assert_eq!(format_value(250.0, "B/s"), "250 B/s");
        assert_eq!(format_value(73.4, "%"), "73 %");
    }
}
