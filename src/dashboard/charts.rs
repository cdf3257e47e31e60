//! The dashboard's charts, drawn on the server as SVG with plotters: lines over weeks, bars
//! by priority (two values side by side, or stacked), and horizontal bars for rankings.
//! Plotters escapes the text it writes (labels come from data: categories, channel ids).

use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One chart: a titled figure, its SVG (or why there is none) and its numbers.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    /// Set when there is nothing to draw: the page says so instead of an empty frame.
    pub empty: Option<String>,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Every chart's size in SVG pixels (scaled by CSS to the page's width).
const SIZE: (u32, u32) = (640, 300);

/// The series' colours, in order; the browser test looks for shapes in these.
pub const PALETTE: [RGBColor; 5] = [
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0xea, 0x58, 0x0c),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0x93, 0x33, 0xea),
    RGBColor(0xdc, 0x26, 0x26),
];

const FONT: FontFamily = FontFamily::SansSerif;

/// One named series of values (None: no value at that point).
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

fn headroom(max: f64) -> f64 {
    if max > 0.0 {
        max * 1.15
    } else {
        1.0
    }
}

fn max_of<'a>(values: impl Iterator<Item = &'a Option<f64>>) -> f64 {
    values.flatten().fold(0.0, |m, v| m.max(*v))
}

/// `n` slots on a category axis. Plotters' integer range `0..m` holds m + 1 values, and a
/// range of one value cannot be mapped: one category gets an empty slot beside it.
fn slots(
    n: i32,
) -> plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordi32> {
    (0..(n - 1).max(1)).into_segmented()
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// A chart over category slots (weeks, priorities) with values from 0 up.
type CategoryChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<
        plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordi32>,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// What every category chart shares: a white frame, the key of `names` above the plot, the
/// categories along x (each label in the middle of its slot), 0 to `top` along y. `draw`
/// then draws the series, given the width of one slot in pixels.
fn on_categories<'n>(
    categories: &[String],
    names: impl Iterator<Item = &'n str>,
    top: f64,
    y_label: &str,
    draw: impl FnOnce(&mut CategoryChart<'_, '_>, u32) -> Drawn,
) -> String {
    let mut svg = String::new();
    let drawn: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (key_area, root) = root.split_vertically(KEY_HEIGHT);
        key(&key_area, names)?;
        let n = categories.len().max(1) as i32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(slots(n), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(categories.len() + 1)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    categories.get(*i as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_desc(y_label)
            .label_style((FONT, 12))
            .draw()?;
        // Each category's slot, in pixels, shared by its bars with a gap on either side.
        let (xs, _) = chart.plotting_area().get_pixel_range();
        let slot = ((xs.end - xs.start) / ((n - 1).max(1) + 1)).max(1) as u32;
        draw(&mut chart, slot)?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

/// Lines over `labels` (weeks); `y_max` fixes the scale (100 for percentages).
pub fn lines(labels: &[String], lines: &[Line], y_max: Option<f64>, y_label: &str) -> String {
    let top = y_max.unwrap_or_else(|| headroom(max_of(lines.iter().flat_map(|l| &l.values))));
    let names = lines.iter().map(|l| l.name.as_str());
    on_categories(labels, names, top, y_label, |chart, _| {
        for (k, line) in lines.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let points: Vec<(SegmentValue<i32>, f64)> = line
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (SegmentValue::CenterOf(i as i32), v)))
                .collect();
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        Ok(())
    })
}

/// Bars by category, the series side by side within each category.
pub fn bars(categories: &[String], series: &[Line], y_label: &str) -> String {
    let top = headroom(max_of(series.iter().flat_map(|l| &l.values)));
    let names = series.iter().map(|l| l.name.as_str());
    on_categories(categories, names, top, y_label, |chart, slot| {
        let k = series.len().max(1) as u32;
        let gap = slot / 6;
        let bar = (slot - 2 * gap) / k;
        for (s, line) in series.iter().enumerate() {
            let color = PALETTE[s % PALETTE.len()];
            let left = gap + bar * s as u32;
            let right = slot.saturating_sub(left + bar);
            chart.draw_series(line.values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let i = i as i32;
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), v),
                    ],
                    color.filled(),
                );
                r.set_margin(0, 0, left, right);
                Some(r)
            }))?;
        }
        Ok(())
    })
}

/// Bars by category, each made of stacked parts (one per series).
pub fn stacked(categories: &[String], parts: &[Line], y_label: &str) -> String {
    let totals: Vec<Option<f64>> = (0..categories.len())
        .map(|i| Some(parts.iter().filter_map(|p| p.values[i]).sum()))
        .collect();
    let top = headroom(max_of(totals.iter()));
    let names = parts.iter().map(|l| l.name.as_str());
    on_categories(categories, names, top, y_label, |chart, slot| {
        let gap = slot / 5;
        let mut base = vec![0f64; categories.len()];
        for (s, part) in parts.iter().enumerate() {
            let color = PALETTE[s % PALETTE.len()];
            let mut rects = Vec::new();
            for (i, v) in part.values.iter().enumerate() {
                let v = v.unwrap_or(0.0);
                if v > 0.0 {
                    let x = i as i32;
                    let mut r = Rectangle::new(
                        [
                            (SegmentValue::Exact(x), base[i]),
                            (SegmentValue::Exact(x + 1), base[i] + v),
                        ],
                        color.filled(),
                    );
                    r.set_margin(0, 0, gap, gap);
                    rects.push(r);
                    base[i] += v;
                }
            }
            chart.draw_series(rects)?;
        }
        Ok(())
    })
}

/// A ranking: one horizontal bar per label, largest first as given.
pub fn ranking(labels: &[String], values: &[f64], x_label: &str) -> String {
    let mut svg = String::new();
    let drawn: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let n = labels.len().max(1) as i32;
        let right = headroom(values.iter().fold(0.0, |m: f64, v| m.max(*v)));
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(120)
            .build_cartesian_2d(0f64..right, slots(n))?;
        // The largest at the top: row 0 is drawn at the top of the axis.
        let row = |i: usize| n - 1 - i as i32;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(labels.len() + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) => {
                    let i = (n - 1 - *r) as usize;
                    labels.get(i).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_desc(x_label)
            .label_style((FONT, 12))
            .draw()?;
        let color = PALETTE[0];
        chart.draw_series(values.iter().enumerate().map(|(i, v)| {
            let r = row(i);
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(r)),
                    (*v, SegmentValue::Exact(r + 1)),
                ],
                color.filled(),
            );
            rect.set_margin(4, 4, 0, 0);
            rect
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

/// The height of the key above a chart with several series.
const KEY_HEIGHT: u32 = 26;

/// The key, in a strip above the plot so that it never hides data: a 12×10 swatch in each
/// series' colour and its name.
fn key<'n>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    names: impl Iterator<Item = &'n str>,
) -> Drawn {
    let mut x = 60;
    for (k, name) in names.enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        area.draw(&Rectangle::new([(x, 9), (x + 12, 19)], color.filled()))?;
        area.draw(&Text::new(
            name.to_string(),
            (x + 16, 8),
            (FONT, 13).into_font(),
        ))?;
        // The naive font's estimate of the name's width: no font files are read.
        x += 16 + (name.chars().count() as i32) * 7 + 18;
    }
    Ok(())
}

/// The SVG, or nothing when drawing failed (the page then shows the table alone).
fn finish(svg: String, drawn: Drawn) -> String {
    match drawn {
        Ok(()) => svg,
        Err(err) => {
            tracing::warn!(error = %err, "a dashboard chart could not be drawn");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_kind_of_chart_draws_an_svg_with_shapes() {
        let weeks = names(&["Jun 1", "Jun 8"]);
        let two = |a, b| Line {
            name: "opened".into(),
            values: vec![Some(a), Some(b)],
        };
        for svg in [
            lines(&weeks, &[two(3.0, 5.0)], None, "tickets"),
            bars(&weeks, &[two(3.0, 5.0), two(1.0, 2.0)], "hours"),
            stacked(&weeks, &[two(3.0, 5.0), two(1.0, 0.0)], "tickets"),
            ranking(&weeks, &[5.0, 3.0], "tickets"),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.contains("<rect") || svg.contains("<polyline"), "{svg}");
            assert!(svg.contains("Jun 8"), "{svg}");
        }
    }

    #[test]
    fn labels_from_data_are_escaped() {
        let svg = ranking(&names(&["<script>alert(1)</script>&"]), &[1.0], "tickets");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }

    #[test]
    fn one_category_or_one_week_draws_too() {
        let one = names(&["P1"]);
        let line = || Line {
            name: "p50".into(),
            values: vec![Some(2.0)],
        };
        for svg in [
            lines(&one, &[line()], None, "tickets"),
            bars(&one, &[line()], "hours"),
            stacked(&one, &[line()], "tickets"),
            ranking(&one, &[2.0], "tickets"),
        ] {
            assert!(svg.contains("#2563EB"), "{svg}");
        }
    }

    #[test]
    fn nothing_to_draw_still_gives_an_empty_frame() {
        let svg = lines(&[], &[], None, "tickets");
        assert!(svg.starts_with("<svg"), "{svg}");
    }
}
