//! Which frame of a failure is a file of this checkout, and its path from the root.
//!
//! Tools print paths relative to where they ran (pytest's rootdir, a Maven module, a Go
//! package), absolute on the machine that ran them (a container's `/app`, another runner's
//! workspace), or as a bare file name (go test, the JVM). A frame counts only when it names a
//! regular file inside the repository: no `..`, no absolute path outside the root, no symlink
//! leading out. An annotation never points outside the checkout, and never at a guess.

use std::path::{Path, PathBuf};

use relman_core::fsutil::{inside_repo, leaves_root};

use super::frames::Frame;

/// Where JVM build tools keep sources, under a module's folder.
const JVM_SOURCE_DIRS: [&str; 9] = [
    "",
    "src/test/java",
    "src/main/java",
    "src/test/kotlin",
    "src/main/kotlin",
    "src/test/scala",
    "src/main/scala",
    "src/test/groovy",
    "src/main/groovy",
];

/// Folders (relative to the root) a relative path in a report may start from, most likely
/// first: the root, the report's folder and its parents (pytest run in `backend/` writing
/// `backend/reports/junit.xml`), and for a Go package class name (`example.com/shop/cart`)
/// its trailing folders (`shop/cart`, `cart`), since go test prints bare file names.
pub(super) fn bases(root: &Path, report_dir: &Path, classname: &str) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::new()];
    if let Ok(rel) = report_dir.strip_prefix(root) {
        let mut dir = Some(rel);
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            out.push(d.to_path_buf());
            dir = d.parent();
        }
    }
    if classname.contains('/') && !leaves_root(Path::new(classname)) {
        let parts: Vec<&str> = classname.split('/').filter(|p| !p.is_empty()).collect();
        for i in 0..parts.len() {
            out.push(parts[i..].iter().collect());
        }
    }
    out.dedup();
    out
}

/// The frame's file relative to the root (with `/`), when it is a file of this checkout.
pub(super) fn resolve(root: &Path, bases: &[PathBuf], frame: &Frame) -> Option<String> {
    let raw = frame.path.strip_prefix("file://").unwrap_or(&frame.path);
    let path = raw.replace('\\', "/");
    if let Some(class) = &frame.class {
        // `com.acme.CartTest$Inner` in CartTest.java → com/acme/CartTest.java.
        let class = class.split('$').next().unwrap_or(class);
        let package = class.rsplit_once('.').map_or("", |(p, _)| p);
        let rel: PathBuf = package
            .split('.')
            .filter(|p| !p.is_empty())
            .chain([path.as_str()])
            .collect();
        return bases.iter().find_map(|base| {
            JVM_SOURCE_DIRS
                .iter()
                .find_map(|dir| file_in(root, &base.join(dir).join(&rel)))
        });
    }
    let absolute = path.starts_with('/') || path.as_bytes().get(1) == Some(&b':');
    if absolute {
        let root_text = root.to_string_lossy().replace('\\', "/");
        if let Some(rest) = path
            .strip_prefix(root_text.trim_end_matches('/'))
            .and_then(|r| r.strip_prefix('/'))
        {
            return file_in(root, Path::new(rest));
        }
        // Run elsewhere (a container's /app, another workspace): the longest tail of the
        // path that is a file here.
        return path
            .match_indices('/')
            .find_map(|(i, _)| file_in(root, Path::new(&path[i + 1..])));
    }
    let rel = Path::new(path.strip_prefix("./").unwrap_or(&path));
    bases.iter().find_map(|base| file_in(root, &base.join(rel)))
}

/// `rel` with `/` separators, when it is a regular file inside the repository.
fn file_in(root: &Path, rel: &Path) -> Option<String> {
    let text = rel.to_string_lossy().replace('\\', "/");
    if text.is_empty() || leaves_root(rel) {
        return None;
    }
    inside_repo(root, &text, "junit frame").ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(path: &str, class: Option<&str>) -> Frame {
        Frame {
            path: path.into(),
            line: 1,
            class: class.map(String::from),
        }
    }

    #[test]
    fn paths_inside_the_checkout_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        for f in [
            "tests/test_a.py",
            "backend/tests/test_b.py",
            "shop/cart/cart_test.go",
            "m/src/test/java/com/acme/CartTest.java",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "").unwrap();
        }
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("secret.py"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();

        let at_root = bases(root, root, "");
        let r = |p: &str| resolve(root, &at_root, &frame(p, None));
        assert_eq!(r("tests/test_a.py").as_deref(), Some("tests/test_a.py"));
        assert_eq!(r("./tests/test_a.py").as_deref(), Some("tests/test_a.py"));
        let inside = format!("{}/tests/test_a.py", root.display());
        assert_eq!(r(&inside).as_deref(), Some("tests/test_a.py"));
        assert_eq!(
            r("/app/tests/test_a.py").as_deref(),
            Some("tests/test_a.py")
        );
        assert_eq!(
            r("C:\\ci\\tests\\test_a.py").as_deref(),
            Some("tests/test_a.py")
        );
        assert_eq!(r("test_b.py"), None, "not at the root");
        assert_eq!(r("../tests/test_a.py"), None);
        assert_eq!(r("tests/../tests/test_a.py"), None);
        let out = format!("{}/secret.py", outside.path().display());
        assert_eq!(r(&out), None);
        #[cfg(unix)]
        assert_eq!(r("link/secret.py"), None, "a symlink leading out");
        assert_eq!(r("tests"), None, "a folder");

        // Relative to the report's folder or its parents.
        let b = bases(root, &root.join("backend/reports"), "");
        assert_eq!(
            resolve(root, &b, &frame("tests/test_b.py", None)).as_deref(),
            Some("backend/tests/test_b.py")
        );
        // A Go package's trailing folders.
        let b = bases(root, root, "example.com/shop/cart");
        assert_eq!(
            resolve(root, &b, &frame("cart_test.go", None)).as_deref(),
            Some("shop/cart/cart_test.go")
        );
        assert!(bases(root, root, "../x/y").len() == 1);
        // A JVM frame: package folders under a module's source folders.
        let b = bases(root, &root.join("m/target/surefire-reports"), "");
        assert_eq!(
            resolve(
                root,
                &b,
                &frame("CartTest.java", Some("com.acme.CartTest$Inner"))
            )
            .as_deref(),
            Some("m/src/test/java/com/acme/CartTest.java")
        );
    }
}
