#!/usr/bin/env bash
# Install what `make test` and `make demo` need, and nothing that is already there.
#   scripts/bootstrap.sh system   Debian packages (SoftHSM, OpenSC's spy, p11-kit's trust module...)
#   scripts/bootstrap.sh venv     .venv with ukeytool installed editable and its dev dependencies
#   scripts/bootstrap.sh pythons  .venv-3.10 and .venv-3.13: the oldest and the newest Python
#                                 ukeytool supports, each with ukeytool and the test extra
# Idempotent and quick the second time: it only checks, unless something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and the demo use, and why:
#   softhsm2        the stand-in token (module and softhsm2-util)
#   opensc          pkcs11-tool, an independent check of what the fixtures wrote
#   opensc-pkcs11   pkcs11-spy.so, which counts the PKCS#11 calls ukeytool makes
#   p11-kit-modules p11-kit-trust.so, a real module with ~140 real CA certificates
#   ca-certificates the CA certificates it serves (minimal images may lack them)
#   openssl         signs SM2/SM3 test certificates
#   gnutls-bin      p11tool, whose pkcs11: URIs the URI tests compare ukeytool's with
#   gcc libc6-dev libp11-kit-dev  compile the tests' misbehaving PKCS#11 module
#                   (tests/shim/misbehave.c, against p11-kit's pkcs11.h)
#   gettext         msgfmt and xgettext: the i18n tests check the Chinese catalogue with them
#                   (scripts/update-messages.sh uses them too; ukeytool itself does not)
# The smart-card stand (tests/stands/pcsc.py: a virtual PIV card read through OpenSC):
#   pcscd           the PC/SC daemon, started by the tests with a reader configuration of its own
#   vsmartcard-vpcd vpcd, the reader driver the virtual card connects to
#   util-linux iproute2  unshare, nsenter and ip: pcscd runs in mount and network namespaces
#                   of its own (its socket path is fixed; vpcd listens on every interface)
# The TPM stand (tests/stands/tpm2.py: tpm2-pkcs11 on a software TPM):
#   swtpm           the software TPM
#   tpm2-abrmd libtss2-tcti-tabrmd0  the resource manager (swtpm alone runs out of object
#                   slots) and the TCTI through which tpm2-pkcs11 reaches it
#   dbus-daemon dbus-bin  a private session bus for tpm2-abrmd; dbus-send to wait for it
#   libtpm2-pkcs11-1 libtpm2-pkcs11-tools  the module, and tpm2_ptool that builds its store
PACKAGES=(softhsm2 opensc opensc-pkcs11 p11-kit-modules ca-certificates openssl gnutls-bin gcc libc6-dev libp11-kit-dev gettext
  pcscd vsmartcard-vpcd util-linux iproute2
  swtpm tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon dbus-bin libtpm2-pkcs11-1 libtpm2-pkcs11-tools)

missing_packages() {
  local p out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

apt_install() {
  local missing=("$@")
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      return
    fi
    echo "missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

system() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "not a Debian system: install SoftHSM2, OpenSC (with pkcs11-spy), p11-kit's trust module and openssl by hand" >&2
    return 0
  fi
  local missing
  read -r -a missing <<<"$(missing_packages "${PACKAGES[@]}")"
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

PYTHON=${PYTHON:-python3}

# What tests/test_sdist.py builds the sdist with (pyproject.toml's PEP 639 license needs
# setuptools 77); tools of the repository, not dependencies of ukeytool or its tests.
SDIST_TOOLS=(build "setuptools>=77")

venv() {
  local stamp=.venv/.ukeytool-installed
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ -x .venv/bin/python ]; then
    return 0
  fi
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "no $PYTHON found; run: sudo apt-get install python3 python3-venv" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
      # Debian's python3 ships venv's pip bootstrap in a separate package.
      rm -rf .venv
      local pyver
      pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      local missing
      read -r -a missing <<<"$(missing_packages "python${pyver}-venv")"
      if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
      "$PYTHON" -m venv .venv
    fi
  fi
  echo "installing ukeytool and its development dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e '.[test,lint,types,docs]' "${SDIST_TOOLS[@]}"
  touch "$stamp"
}

# The oldest and the newest Python ukeytool supports (the Makefile passes its TEST_PYTHONS;
# keep them in step with pyproject.toml's requires-python and tox.ini's envlist): `make
# test` runs the whole suite on both; tox runs the ones between.
read -r -a TEST_PYTHONS <<<"${TEST_PYTHONS:-3.10 3.13}"

# The interpreter for Python X.Y: $PYTHON_X_Y if set, else the newest pyenv build of X.Y,
# else pythonX.Y on the PATH (a pyenv shim counts only if it runs).
find_python() {
  local version=$1 var candidate
  var="PYTHON_${version/./_}"
  if [ -n "${!var:-}" ]; then
    echo "${!var}"
    return 0
  fi
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python"$version" 2>/dev/null | sort -V -r) \
    "$(command -v "python$version" 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# .venv-X.Y: ukeytool (editable) and its test extra, for the suite on that Python.
python_venv() {
  local version=$1 dir=.venv-$1 python
  local stamp=$dir/.ukeytool-installed
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  if ! python=$(find_python "$version"); then
    local message="Python $version not found (looked for \$PYTHON_${version/./_}, ${PYENV_ROOT:-$HOME/.pyenv}/versions/$version.*, python$version on the PATH); install it (pyenv install $version) or set PYTHON_${version/./_}=/path/to/python$version"
    if [ -n "${CI:-}" ]; then
      # CI must prove the suite passes on the oldest and the newest supported Python.
      echo "required under CI: $message" >&2
      exit 1
    fi
    echo "warning: $message; make test will skip Python $version" >&2
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir"
  fi
  echo "installing ukeytool and its test dependencies into $dir ($python)" >&2
  "$dir/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$dir/bin/python" -m pip install -q -e '.[test]' "${SDIST_TOOLS[@]}"
  touch "$stamp"
}

pythons() {
  local version
  for version in "${TEST_PYTHONS[@]}"; do
    python_venv "$version"
  done
}

case "${1:-all}" in
  system) system ;;
  venv) venv ;;
  pythons) pythons ;;
  all) system; venv; pythons ;;
  *) echo "usage: $0 [system|venv|pythons|all]" >&2; exit 2 ;;
esac
