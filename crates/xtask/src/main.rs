fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("ui/src/lib"))?;
    std::fs::write(
        root.join("ui/src/lib/types.ts"),
        outpost_proto::typescript_declarations(),
    )?;
    Ok(())
}
