//! Bars per category (days, priorities): one group of bars per category, one bar per series,
//! with a legend. Besides the SVG it gives each category's region as fractions of the image,
//! so a console can make a category clickable without reading the markup.

use super::{palette, Theme};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Clone, Debug)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct BarSpec {
    pub title: String,
    /// Shown after each value on the axis (`%`), or empty for counts.
    pub unit: String,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    /// The axis runs 0–100.
    pub percent: bool,
    pub theme: Theme,
    pub width: u32,
    pub height: u32,
}

/// A category's column, as fractions (0–1) of the image's width and height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    pub index: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

fn colors(theme: Theme) -> [RGBColor; 3] {
    match theme {
        Theme::Light => [
            RGBColor(37, 99, 235),
            RGBColor(22, 163, 74),
            RGBColor(217, 119, 6),
        ],
        Theme::Dark => [
            RGBColor(96, 165, 250),
            RGBColor(74, 222, 128),
            RGBColor(251, 191, 36),
        ],
    }
}

/// The chart as an SVG document and each category's region.
pub fn render_bars(spec: &BarSpec) -> Result<(String, Vec<Region>), String> {
    let mut svg = String::new();
    let regions = draw(spec, &mut svg).map_err(|e| format!("the chart could not be drawn: {e}"))?;
    Ok((svg, regions))
}

fn draw(spec: &BarSpec, out: &mut String) -> Result<Vec<Region>, Box<dyn std::error::Error>> {
    let p = palette(spec.theme);
    let series_colors = colors(spec.theme);
    let (w, h) = (spec.width.clamp(200, 2400), spec.height.clamp(120, 1600));
    let n = spec.categories.len().max(1);
    let top = spec
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let y_max = if spec.percent {
        100.0
    } else if top <= 0.0 {
        1.0
    } else {
        (top * 1.15).ceil()
    };
    let categories = spec.categories.clone();
    // At most about 12 labels: every k-th category is named.
    let every = n.div_ceil(12).max(1);
    let x_fmt = move |x: &f64| {
        let i = x.floor() as usize;
        if (x - x.floor()).abs() < 1e-9 || !i.is_multiple_of(every) {
            return String::new();
        }
        categories.get(i).cloned().unwrap_or_default()
    };
    let unit = spec.unit.clone();
    let counts = !spec.percent;
    let y_fmt = move |v: &f64| {
        if counts && v.fract().abs() > 1e-9 {
            String::new()
        } else if unit.is_empty() {
            format!("{v:.0}")
        } else {
            format!("{v:.0} {unit}")
        }
    };
    let mut regions = Vec::new();
    {
        let root = SVGBackend::with_string(out, (w, h)).into_drawing_area();
        root.fill(&p.background)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(16)
            .caption(&spec.title, ("sans-serif", 17).into_font().color(&p.text))
            .x_label_area_size(24)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..n as f64, 0.0..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .y_labels(5)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .axis_style(p.grid)
            .bold_line_style(p.grid)
            .light_line_style(p.grid_light)
            .max_light_lines(1)
            .label_style(("sans-serif", 13).into_font().color(&p.text))
            .draw()?;
        let groups = spec.series.len().max(1) as f64;
        for (s, series) in spec.series.iter().enumerate() {
            let color = series_colors[s % series_colors.len()];
            chart
                // A zero bar is not drawn: a rectangle of no height is invalid SVG to some
                // readers (the PDF engine warns for each).
                .draw_series(
                    series
                        .values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v > 0.0)
                        .map(|(i, v)| {
                            let left = i as f64 + 0.12 + 0.76 * s as f64 / groups;
                            let right = left + 0.76 / groups;
                            Rectangle::new([(left, 0.0), (right, v.min(y_max))], color.filled())
                        }),
                )?
                .label(series.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        if spec.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(p.background.mix(0.85))
                .border_style(p.grid)
                .label_font(("sans-serif", 13).into_font().color(&p.text))
                .draw()?;
        }
        for i in 0..spec.categories.len() {
            let (x0, y0) = chart.backend_coord(&(i as f64, y_max));
            let (x1, y1) = chart.backend_coord(&((i + 1) as f64, 0.0));
            regions.push(Region {
                index: i,
                x: x0 as f64 / w as f64,
                y: y0 as f64 / h as f64,
                w: (x1 - x0) as f64 / w as f64,
                h: (y1 - y0) as f64 / h as f64,
            });
        }
        let empty = spec
            .series
            .iter()
            .all(|s| s.values.iter().all(|v| *v == 0.0));
        if empty {
            let style = ("sans-serif", 16)
                .into_font()
                .color(&p.text)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(
                "Nothing in this period",
                (w as i32 / 2, h as i32 / 2),
                style,
            ))?;
        }
        root.present()?;
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_per_day_with_a_legend_and_a_region_per_day() {
        let spec = BarSpec {
            title: "Tickets per day".into(),
            unit: String::new(),
            categories: vec!["16 Nov".into(), "17 Nov".into(), "18 Nov".into()],
            series: vec![
                BarSeries {
                    name: "Opened".into(),
                    values: vec![3.0, 1.0, 0.0],
                },
                BarSeries {
                    name: "Closed".into(),
                    values: vec![0.0, 1.0, 0.0],
                },
            ],
            percent: false,
            theme: Theme::Light,
            width: 600,
            height: 240,
        };
        let (svg, regions) = render_bars(&spec).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("Opened") && svg.contains("Closed"),
            "the legend"
        );
        assert!(svg.contains("17 Nov"), "a day's label");
        assert_eq!(regions.len(), 3);
        // Left to right, side by side, inside the image.
        assert!(regions[0].x < regions[1].x && regions[1].x < regions[2].x);
        for r in &regions {
            assert!(
                r.x >= 0.0 && r.x + r.w <= 1.0 && r.y >= 0.0 && r.y + r.h <= 1.0,
                "{r:?}"
            );
            assert!((r.w - regions[0].w).abs() < 0.01);
        }
        assert!(!svg.contains("Nothing in this period"));
        // Three bars (3, 1 and 1), none of no height.
        let bars = svg.matches("<rect").count();
        assert!(!svg.contains("height=\"0\""), "{svg}");
        let mut zeros = spec.clone();
        for s in &mut zeros.series {
            s.values = vec![0.0; 3];
        }
        let quiet_svg = render_bars(&zeros).unwrap().0;
        assert_eq!(
            bars - quiet_svg.matches("<rect").count(),
            3,
            "one rect per bar above 0"
        );
        let quiet = BarSpec {
            series: vec![BarSeries {
                name: "Opened".into(),
                values: vec![0.0; 3],
            }],
            ..spec
        };
        assert!(render_bars(&quiet)
            .unwrap()
            .0
            .contains("Nothing in this period"));
    }
}
