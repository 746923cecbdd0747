//! A bundle's item table in another format: re-encoding it for `localrec export --items`, and
//! reading a compressed one back (see [`crate::item_table`] for the formats and their
//! encoding).

use super::Bundle;
use crate::error::Result;
use crate::item_table::ItemTable;

impl Bundle {
    /// The bundle's compressed item table and its extra rows (rows of the model's embedding
    /// after the items, e.g. BERT4Rec's `[MASK]`), every tensor and value checked; `None` when
    /// the table is the model's own (f32 or f16). Errors: [`crate::Error::Bundle`].
    pub fn compressed_item_table(&self) -> Result<Option<(ItemTable, Vec<f32>)>> {
        let Some(spec) = &self.manifest.item_table else { return Ok(None) };
        spec.check(self.manifest.num_items())?;
        Ok(Some(spec.decode(&self.weights)?))
    }

    /// This bundle with its item table stored as `format` (see
    /// [`TableFormat`](crate::item_table::TableFormat)): f32 and f16 inside the model's weights
    /// ([`Bundle::recoded`]); int8 and product quantisation in place of them. A product-quantised
    /// table keeps the rows of the `exact` most popular items (training counts; ties to the lower
    /// index) in f16; its centroids are learned with `seed`. The source must hold the model's
    /// own table (f32 or f16): a compressed table is not compressed again.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_item_format(&self, format: crate::item_table::TableFormat, exact: usize, seed: u64) -> Result<Bundle> {
        use super::bundle_err;
        use crate::item_table::{Int8, Pq, TableFormat, TableSpec};
        use safetensors::{Dtype, SafeTensors};

        if let Some(spec) = &self.manifest.item_table {
            return Err(bundle_err(format!(
                "the item table is already compressed ({}); export from the bundle with the f32 or f16 table",
                spec.format
            )));
        }
        if exact > 0 && !matches!(format, TableFormat::Pq(_)) {
            return Err(crate::Error::invalid("--exact", "exact rows are kept by pq tables only"));
        }
        match format {
            TableFormat::F32 => return self.recoded(false),
            TableFormat::F16 => return self.recoded(true),
            TableFormat::Int8 | TableFormat::Pq(_) => {}
        }
        if let Some(c) = self.manifest.encoder.config.get("categories").and_then(|c| c.as_u64()).filter(|&c| c > 0) {
            return Err(crate::Error::invalid(
                "--items",
                format!("the model fuses {c} item categories into its item table; int8 and pq serve encoders without"),
            ));
        }
        let bad = |e: safetensors::SafeTensorError| bundle_err(format!("the weights could not be read: {e}"));
        let (_, meta) = SafeTensors::read_metadata(&self.weights).map_err(bad)?;
        let st = SafeTensors::deserialize(&self.weights).map_err(bad)?;
        let (name, view) = st
            .tensors()
            .into_iter()
            .find(|(name, _)| super::weights::is_item_table(name))
            .ok_or_else(|| bundle_err("the weights have no item embedding table"))?;
        let (rows, dim) = match view.shape() {
            &[r, d] => (r, d),
            other => return Err(bundle_err(format!("the item table `{name}` has shape {other:?}, not 2-d"))),
        };
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F16 => {
                view.data().chunks_exact(2).map(|b| burn::tensor::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
            }
            other => return Err(bundle_err(format!("the item table `{name}` is {other:?}, not F32 or F16"))),
        };
        let n = self.manifest.num_items();
        if rows < n + 1 {
            return Err(bundle_err(format!("the item table has {rows} rows for {n} items")));
        }
        let (items, extra) = values.split_at((n + 1) * dim);
        let table = match format {
            TableFormat::Pq(m) => {
                let mut by_pop: Vec<u32> = (1..=n as u32).collect();
                by_pop.sort_by_key(|&i| (std::cmp::Reverse(self.manifest.popularity[i as usize - 1]), i));
                by_pop.truncate(exact);
                ItemTable::Pq(Pq::train(items, dim, m, &by_pop, seed)?)
            }
            _ => ItemTable::Int8(Int8::quantize(items, dim)?),
        };
        let (spec, compressed) = TableSpec::encode(&table, extra)?;
        let mut kept: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
            .collect();
        kept.extend(compressed);
        let views = kept
            .iter()
            .map(|(n, dtype, shape, bytes)| {
                Ok((n.as_str(), safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).map_err(bad)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let weights = safetensors::serialize(views, meta.metadata().clone())
            .map_err(|e| bundle_err(format!("could not write the weights: {e}")))?;
        let mut manifest = self.manifest.clone();
        manifest.half_precision_items = false;
        manifest.item_table = Some(spec);
        Ok(Bundle::new(manifest, weights))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use safetensors::{Dtype, SafeTensors};

    use super::*;
    use crate::bundle::Manifest;
    use crate::error::Error;
    use crate::item_table::TableFormat;
    use crate::model::hosted::tests::bundle_of;
    use crate::model::neural::EncoderConfig;
    use crate::model::sasrec::SasRecConfig;

    type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

    fn compressed(format: TableFormat, exact: usize) -> Bundle {
        let device = Device::flex();
        device.seed(1);
        let cfg = SasRecConfig::new(40).with_d_model(16).with_n_blocks(1).with_max_len(8);
        let model = cfg.init(&device).unwrap();
        bundle_of(&cfg, &model, 40).with_item_format(format, exact, 1).unwrap()
    }

    fn tensors(b: &Bundle) -> Tensors {
        let st = SafeTensors::deserialize(&b.weights).unwrap();
        st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect()
    }

    /// `b` with its tensors replaced by `t` (the checksums made to match: what a writer that
    /// got the table wrong would produce).
    fn with_tensors(b: &Bundle, t: &Tensors) -> Bundle {
        let views: Vec<_> = t
            .iter()
            .map(|(n, d, s, bytes)| (n.as_str(), safetensors::tensor::TensorView::new(*d, s.clone(), bytes).unwrap()))
            .collect();
        Bundle::new(b.manifest.clone(), safetensors::serialize(views, None).unwrap())
    }

    /// The error loading `b` gives, through bytes, as the browser loads it; it must be
    /// [`Error::Bundle`] (`BAD_BUNDLE`).
    fn refused(b: &Bundle) -> String {
        let loaded = Bundle::from_bytes(&b.to_bytes()).and_then(|b| crate::serve::Engine::new(&b, &Device::flex()));
        match loaded {
            Err(Error::Bundle { problem }) => problem,
            Err(other) => panic!("refused, but not as a bad bundle: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    fn edit(b: &Bundle, name: &str, f: impl Fn(&mut (String, Dtype, Vec<usize>, Vec<u8>))) -> Bundle {
        let mut t = tensors(b);
        let entry = t.iter_mut().find(|x| x.0 == name).unwrap_or_else(|| panic!("no tensor {name}"));
        f(entry);
        with_tensors(b, &t)
    }

    fn check(b: &Bundle, expect: &str) {
        let e = refused(b);
        assert!(e.contains(expect), "`{e}` should contain `{expect}`");
    }

    #[test]
    fn int8_tables_are_validated() {
        let _rng = crate::testing::rng_lock();
        let b = compressed(TableFormat::Int8, 0);
        assert!(crate::serve::Engine::new(&Bundle::from_bytes(&b.to_bytes()).unwrap(), &Device::flex()).is_ok());
        let nan = f32::NAN.to_le_bytes();
        check(&edit(&b, "item_table.int8.scales", |t| t.3[8..12].copy_from_slice(&nan)), "the scale of row 2 is NaN");
        check(&edit(&b, "item_table.int8.scales", |t| t.3[0..4].copy_from_slice(&(-1.0f32).to_le_bytes())), "is -1");
        check(
            &edit(&b, "item_table.int8.values", |t| {
                t.2 = vec![40, 16];
                t.3.truncate(40 * 16)
            }),
            "tensor `item_table.int8.values` is I8 [40, 16], expected I8 [41, 16]",
        );
        check(&edit(&b, "item_table.int8.values", |t| t.1 = Dtype::U8), "is U8 [41, 16], expected I8");
        let mut t = tensors(&b);
        t.retain(|x| x.0 != "item_table.int8.scales");
        check(&with_tensors(&b, &t), "tensor `item_table.int8.scales` is missing");
        // A manifest that does not fit the tensors or the catalogue.
        let mut m = b.clone();
        m.manifest.item_table.as_mut().unwrap().dim = 8;
        check(&m, "expected I8 [41, 8]");
        m.manifest.item_table.as_mut().unwrap().rows = 40;
        check(&m, "40 rows for a catalogue of 40 items (needs 41)");
        let mut v = b.clone();
        v.manifest.item_table.as_mut().unwrap().version = 2;
        check(&v, "format int8 version 2, this localrec reads version 1");
        let mut f = b.clone();
        f.manifest.item_table.as_mut().unwrap().format = "int4".into();
        check(&f, "unknown format `int4`");
        let mut d = b.clone();
        d.manifest.item_table.as_mut().unwrap().dim = 0;
        check(&d, "row width 0");
    }

    #[test]
    fn pq_tables_are_validated() {
        let _rng = crate::testing::rng_lock();
        let b = compressed(TableFormat::Pq(4), 5);
        assert_eq!(b.manifest.item_table.as_ref().unwrap().exact, 5);
        let nan = f32::NAN.to_le_bytes();
        check(
            &edit(&b, "item_table.pq.centroids", |t| t.3[400..404].copy_from_slice(&nan)),
            "centroid value 100 is NaN",
        );
        check(
            &edit(&b, "item_table.pq.codes", |t| {
                t.2 = vec![41, 2];
                t.3.truncate(82)
            }),
            "tensor `item_table.pq.codes` is U8 [41, 2], expected U8 [41, 4]",
        );
        // Sub-spaces that do not divide the width, or do not match the tensors.
        let mut m = b.clone();
        m.manifest.item_table.as_mut().unwrap().subspaces = 3;
        check(&m, "3 sub-spaces do not divide rows of width 16");
        m.manifest.item_table.as_mut().unwrap().subspaces = 8;
        check(&m, "expected U8 [41, 8]");
        m.manifest.item_table.as_mut().unwrap().subspaces = 0;
        check(&m, "0 sub-spaces");
        // Exact rows: out of order, out of range, NaN, more than the table, absent or stray.
        let swap = |t: &mut (String, Dtype, Vec<usize>, Vec<u8>)| {
            let (a, b) = t.3.split_at_mut(4);
            a.swap_with_slice(&mut b[..4]);
        };
        check(&edit(&b, "item_table.pq.exact_items", swap), "are not increasing");
        check(
            &edit(&b, "item_table.pq.exact_items", |t| t.3[16..20].copy_from_slice(&41u32.to_le_bytes())),
            "row 41 of a table of 41 rows",
        );
        check(
            &edit(&b, "item_table.pq.exact_rows", |t| t.3[6..8].copy_from_slice(&0x7e00u16.to_le_bytes())),
            "exact row value 3 is NaN",
        );
        let mut e = b.clone();
        e.manifest.item_table.as_mut().unwrap().exact = 50;
        check(&e, "50 exact rows in a table of 41 rows");
        e.manifest.item_table.as_mut().unwrap().exact = 0;
        check(&e, "tensor `item_table.pq.exact_items` is present but the manifest says there is none");
        let mut t = tensors(&b);
        t.push(("item_table.pq.more".into(), Dtype::U8, vec![1], vec![0]));
        check(&with_tensors(&b, &t), "tensor `item_table.pq.more` does not belong to a pq table");
        // The model's own item embedding beside a compressed table: it does not fit the window.
        let mut t = tensors(&b);
        t.push(("item_emb.weight".into(), Dtype::F32, vec![41, 16], vec![0; 41 * 64]));
        check(&with_tensors(&b, &t), "item_emb.weight");
        // An absurd encoder config is refused before anything is allocated, the window model too.
        let mut huge = b.clone();
        huge.manifest.encoder.config["max_len"] = serde_json::json!(1u64 << 40);
        check(&huge, "needs at least");
        // A compressed table is not compressed again.
        let e = b.with_item_format(TableFormat::Int8, 0, 1).unwrap_err();
        assert!(e.to_string().contains("already compressed"), "{e}");
    }

    /// Bit flips in the weights behind valid checksums (a writer's bug, not a transfer error:
    /// those the file checksum catches) load or are refused as bad bundles, never a panic.
    #[test]
    fn damaged_tables_never_panic() {
        let _rng = crate::testing::rng_lock();
        for b in [compressed(TableFormat::Pq(4), 3), compressed(TableFormat::Int8, 0)] {
            for (name, ..) in tensors(&b).iter().filter(|t| t.0.starts_with("item_table.")) {
                let len = tensors(&b).iter().find(|t| &t.0 == name).unwrap().3.len();
                for at in (0..len).step_by(len / 23 + 1) {
                    for mask in [0x01u8, 0x80, 0xFF] {
                        let damaged = edit(&b, name, |t| t.3[at] ^= mask);
                        let r = Bundle::from_bytes(&damaged.to_bytes())
                            .and_then(|b| crate::serve::Engine::new(&b, &Device::flex()).map(|_| ()));
                        assert!(matches!(r, Ok(()) | Err(Error::Bundle { .. })), "{name} byte {at}: {r:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn compact_manifest_round_trips() {
        let _rng = crate::testing::rng_lock();
        let b = compressed(TableFormat::Pq(4), 0);
        let keys =
            |m: &Manifest| serde_json::to_value(m).unwrap().as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let top = keys(&b.manifest.compact());
        assert!(!top.contains(&"titles".into()) && !top.contains(&"categories".into()), "left out: {top:?}");
        let back = Bundle::from_bytes(&b.to_bytes()).unwrap();
        assert_eq!(back, b, "read back with one empty entry per item");
        assert_eq!(back.manifest.titles.len(), 40);
        // Without a compressed table, or with a title, nothing is left out.
        let mut titled = b.clone();
        titled.manifest.titles[3] = Some("Tea".into());
        assert!(keys(&titled.manifest.compact()).contains(&"titles".into()));
        assert!(!keys(&titled.manifest.compact()).contains(&"categories".into()));
        let plain = Bundle { manifest: Manifest { item_table: None, ..b.manifest.clone() }, ..b };
        assert!(keys(&plain.manifest.compact()).contains(&"categories".into()));
        assert_eq!(SasRecConfig::KIND, "sasrec");
    }
}
