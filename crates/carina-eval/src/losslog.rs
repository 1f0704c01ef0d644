//! Training logs for the loss curves of an evaluation report.
//!
//! `carina train` writes `log.csv` (one row per optimiser step: `step, lr,
//! class_loss, box_loss, reg_loss, total_loss, ...`) and `val.csv` (one row
//! per validation). Any CSV with a `step` column works: every column whose
//! name ends in `loss` becomes a curve. A JSON list of objects with the same
//! keys is read too (`.json`).

use crate::input::InputError;
use crate::plot::LossRecord;
use std::path::Path;

fn invalid(file: &Path, place: String, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        file: file.display().to_string(),
        place,
        message: message.into(),
    }
}

fn is_loss(name: &str) -> bool {
    name.ends_with("loss")
}

/// Reads a loss log (CSV, or JSON when the name ends in `.json`).
pub fn read_loss_log(path: &Path) -> Result<Vec<LossRecord>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        file: path.display().to_string(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            file: path.display().to_string(),
        });
    }
    let json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let log = if json {
        from_json(path, &text)?
    } else {
        from_csv(path, &text)?
    };
    if log.is_empty() {
        return Err(invalid(path, "rows".into(), "the log has no rows"));
    }
    Ok(log)
}

fn from_csv(path: &Path, text: &str) -> Result<Vec<LossRecord>, InputError> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| invalid(path, "line 1".into(), e.to_string()))?
        .clone();
    let step_col = headers
        .iter()
        .position(|h| h.trim() == "step")
        .ok_or_else(|| invalid(path, "line 1".into(), "no \"step\" column"))?;
    let loss_cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| is_loss(h.trim()))
        .map(|(i, h)| (i, h.trim().to_string()))
        .collect();
    if loss_cols.is_empty() {
        return Err(invalid(
            path,
            "line 1".into(),
            "no loss column (a name ending in \"loss\")",
        ));
    }
    let mut out = Vec::new();
    for row in rdr.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            invalid(path, format!("line {line}"), e.to_string())
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let place = || format!("line {line}");
        let step_text = row.get(step_col).unwrap_or("").trim();
        let step: u64 = step_text.parse().map_err(|_| {
            invalid(
                path,
                place(),
                format!("step {step_text:?} is not a whole number"),
            )
        })?;
        let mut losses = Vec::with_capacity(loss_cols.len());
        for (i, name) in &loss_cols {
            let v = row.get(*i).unwrap_or("").trim();
            if v.is_empty() {
                continue;
            }
            let x: f64 = v
                .parse()
                .map_err(|_| invalid(path, place(), format!("{name} {v:?} is not a number")))?;
            losses.push((name.clone(), x));
        }
        out.push(LossRecord { step, losses });
    }
    Ok(out)
}

fn from_json(path: &Path, text: &str) -> Result<Vec<LossRecord>, InputError> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(text)
        .map_err(|e| InputError::Json {
            file: path.display().to_string(),
            message: format!("expected a list of objects with \"step\" and losses: {e}"),
        })?;
    rows.into_iter()
        .enumerate()
        .map(|(k, row)| {
            let place = || format!("[{k}]");
            let step = row
                .get("step")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| invalid(path, place(), "no whole-number \"step\""))?;
            let mut losses = Vec::new();
            for (name, v) in &row {
                if !is_loss(name) || v.is_null() {
                    continue;
                }
                let x = v
                    .as_f64()
                    .ok_or_else(|| invalid(path, place(), format!("{name} is not a number")))?;
                losses.push((name.clone(), x));
            }
            Ok(LossRecord { step, losses })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn reads_carina_train_log_csv() {
        let (_d, p) = write(
            "log.csv",
            "step,lr,class_loss,box_loss,reg_loss,total_loss,grad_norm,num_positives,seconds\n\
             1,0.001,1.5,0.25,0.0,1.75,3.0,12,0.5\n\
             2,0.001,1.25,0.2,0.0,1.45,2.0,12,0.5\n",
        );
        let log = read_loss_log(&p).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].step, 2);
        let names: Vec<&str> = log[0].losses.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["class_loss", "box_loss", "reg_loss", "total_loss"]);
        assert_eq!(log[1].losses[3].1, 1.45);
    }

    #[test]
    fn reads_json_and_refuses_bad_logs_with_their_place() {
        let (_d, p) = write("log.json", r#"[{"step": 3, "total_loss": 0.5, "lr": 1}]"#);
        let log = read_loss_log(&p).unwrap();
        assert_eq!(log[0].losses, vec![("total_loss".to_string(), 0.5)]);
        let (_d, p) = write("log.csv", "step,total_loss\n1,0.5\n2,abc\n");
        let e = read_loss_log(&p).unwrap_err().to_string();
        assert!(e.contains("log.csv: line 3") && e.contains("abc"), "{e}");
        let (_d, p) = write("log.csv", "epoch,total_loss\n1,0.5\n");
        assert!(read_loss_log(&p).unwrap_err().to_string().contains("step"));
        let (_d, p) = write("log.csv", "step,lr\n1,0.5\n");
        assert!(
            read_loss_log(&p)
                .unwrap_err()
                .to_string()
                .contains("loss column")
        );
        let (_d, p) = write("log.csv", "step,total_loss\n");
        assert!(
            read_loss_log(&p)
                .unwrap_err()
                .to_string()
                .contains("no rows")
        );
        let (_d, p) = write("log.csv", "");
        assert!(read_loss_log(&p).unwrap_err().to_string().contains("empty"));
    }
}
