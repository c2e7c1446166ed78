//! Outpost's printed reports: Typst, used as a library, lays out a report model as PDF (and as
//! one SVG per page for the console's preview).
//!
//! The model is data, never markup: it goes to the template as `report.json` and the template
//! reads it with `json(..)`, so a ticket title that came in by mail (`#import`, `]`, `*`)
//! prints as the characters it is. Charts and the logo are files the data names. The only
//! fonts are the Inter faces shipped in `fonts/` (OFL), so a PDF looks the same on every OS and
//! the charts' SVG text is set in the same font as the page.
//!
//! Typst caches compiled parts across calls (comemo); each render evicts what it left, so a
//! long-running server does not grow. Rendering is CPU work: async callers run it on a
//! blocking thread.

use std::collections::HashMap;
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The layouts this crate knows. Each is a Typst file under `templates/` reading `report.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// The monthly service report for one client.
    ClientReport,
    /// One file `logo` as an image: whether the engine can draw it.
    ImageCheck,
}

impl Template {
    fn source(self) -> &'static str {
        match self {
            Template::ClientReport => include_str!("../templates/client_report.typ"),
            Template::ImageCheck => "#image(\"logo\", width: 2cm)",
        }
    }
}

/// What to lay out: the model as JSON, the files it names (charts as SVG, the logo as PNG or
/// JPEG), and the day it was made (the PDF's date; fixed, so the same input gives the same
/// bytes).
#[derive(Debug, Clone)]
pub struct Document {
    pub template: Template,
    pub data: Vec<u8>,
    pub files: Vec<(String, Vec<u8>)>,
    pub made_on: (i32, u8, u8),
}

impl Document {
    /// A document of `template` from any serialisable model.
    pub fn new<T: serde::Serialize>(
        template: Template,
        model: &T,
        made_on: (i32, u8, u8),
    ) -> Result<Self, ReportError> {
        let data = serde_json::to_vec(model).map_err(|e| ReportError::Model(e.to_string()))?;
        Ok(Self {
            template,
            data,
            files: Vec::new(),
            made_on,
        })
    }

    /// Adds a file the model names (`chart-tickets.svg`, `logo.png`).
    pub fn with_file(mut self, name: &str, bytes: Vec<u8>) -> Self {
        self.files.push((name.to_owned(), bytes));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report's data could not be written: {0}")]
    Model(String),
    /// Typst refused the document; the messages say where (a broken template is our bug; a
    /// logo that is not an image is the input's).
    #[error("the report could not be laid out: {0}")]
    Layout(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The document as PDF: A4, embedded subset fonts, selectable text, tagged for readers.
pub fn pdf(document: &Document) -> Result<Vec<u8>, ReportError> {
    let laid_out = lay_out(document);
    let result = laid_out.and_then(|paged| {
        let (year, month, day) = document.made_on;
        let options = typst_pdf::PdfOptions {
            ident: typst::foundations::Smart::Custom("outpost-report".into()),
            creator: typst::foundations::Smart::Custom(Some("Outpost".into())),
            timestamp: Datetime::from_ymd(year, month, day).map(typst_pdf::Timestamp::new_utc),
            ..Default::default()
        };
        typst_pdf::pdf(&paged, &options).map_err(|e| ReportError::Pdf(messages(&e)))
    });
    comemo::evict(0);
    result
}

/// The document's first `limit` pages, each as one SVG (glyphs as paths: it shows the same
/// anywhere), and how many pages it has.
pub fn pages_svg(document: &Document, limit: usize) -> Result<(Vec<String>, usize), ReportError> {
    let result = lay_out(document).map(|paged| {
        let options = typst_svg::SvgOptions::default();
        let pages = paged
            .pages()
            .iter()
            .take(limit)
            .map(|page| typst_svg::svg(page, &options))
            .collect();
        (pages, paged.pages().len())
    });
    comemo::evict(0);
    result
}

/// Whether `bytes` draw as an image (a PNG or JPEG that decodes), checked by laying it out.
pub fn check_image(bytes: &[u8]) -> Result<(), ReportError> {
    let document = Document {
        template: Template::ImageCheck,
        data: b"{}".to_vec(),
        files: vec![("logo".into(), bytes.to_vec())],
        made_on: (2026, 1, 1),
    };
    page_count(&document).map(|_| ())
}

/// The pages a document lays out to (the count of `pages_svg`, without drawing them).
pub fn page_count(document: &Document) -> Result<usize, ReportError> {
    let result = lay_out(document).map(|paged| paged.pages().len());
    comemo::evict(0);
    result
}

fn lay_out(document: &Document) -> Result<PagedDocument, ReportError> {
    let world = ReportWorld::new(document);
    typst::compile::<PagedDocument>(&world)
        .output
        .map_err(|e| ReportError::Layout(messages(&e)))
}

fn messages(diagnostics: &[SourceDiagnostic]) -> String {
    let words: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    words.join("; ")
}

/// The Inter faces, parsed once per process.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let faces: [&'static [u8]; 4] = [
            include_bytes!("../fonts/Inter-Regular.otf"),
            include_bytes!("../fonts/Inter-Italic.otf"),
            include_bytes!("../fonts/Inter-SemiBold.otf"),
            include_bytes!("../fonts/Inter-Bold.otf"),
        ];
        let fonts: Vec<Font> = faces
            .into_iter()
            .flat_map(|face| Font::iter(Bytes::new(face)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

/// Typst's standard library, without packages, inputs or system access.
fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::builder().build()))
}

/// Everything Typst may read: the template, `report.json` and the named files. No file system,
/// no network, no packages.
struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(document: &Document) -> Self {
        let mut files = HashMap::new();
        let named = std::iter::once(("report.json", document.data.clone()))
            .chain(document.files.iter().map(|(n, b)| (n.as_str(), b.clone())));
        for (name, bytes) in named {
            if let Ok(path) = VirtualPath::new(name) {
                let id = RootedPath::new(VirtualRoot::Project, path).intern();
                files.insert(id, Bytes::new(bytes));
            }
        }
        let (year, month, day) = document.made_on;
        Self {
            main: Source::detached(document.template.source()),
            files,
            today: Datetime::from_ymd(year, month, day),
        }
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or(FileError::AccessDenied)
    }
    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}
