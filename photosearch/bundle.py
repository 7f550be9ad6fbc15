"""What differs when photosearch runs from the desktop bundle (packaging/build-bundle: a
PyInstaller folder with its own Python and libraries) instead of from a Python install."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Where distributions keep their CA certificates as one file (the list Go's crypto/x509 reads)
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
    "/etc/ssl/cert.pem",  # Alpine
)


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def executable() -> Path:
    """The bundle's executable (sys.executable is its launcher there, not a Python)."""
    return Path(sys.executable).resolve()


def library_folder() -> Path | None:
    """The folder of the libraries the bundle brings; None outside a bundle."""
    folder = getattr(sys, "_MEIPASS", None)
    return Path(folder) if frozen() and folder else None


def settle_environment() -> None:
    """Run first thing in the bundle."""
    _give_back_library_path()
    _find_ca_certificates()


def _give_back_library_path() -> None:
    """PyInstaller's launcher sets LD_LIBRARY_PATH to the bundle's libraries, and every program
    started from the app would inherit it: a file manager or image viewer opened from a result
    would load our copies of libraries instead of its own. This process has already read it
    (the dynamic linker reads it once, at start), so the person's own value goes back for the
    programs it starts."""
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


def _find_ca_certificates() -> None:
    """The bundle's OpenSSL was built to find CA certificates where the build machine's
    distribution keeps them (Debian's /usr/lib/ssl); elsewhere (Fedora, openSUSE) it would find
    none, and the model download would fail its certificate check. Point it at the system's
    certificates when its own place is empty (SSL_CERT_FILE is OpenSSL's own setting)."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    import ssl

    paths = ssl.get_default_verify_paths()
    if (paths.cafile and os.path.isfile(paths.cafile)) or (paths.capath and os.path.isdir(paths.capath)
                                                           and any(os.scandir(paths.capath))):
        return
    for candidate in CA_BUNDLES:
        if os.path.isfile(candidate):
            os.environ["SSL_CERT_FILE"] = candidate
            return
