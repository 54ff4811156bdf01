"""Certificates kept in files instead of on a token: PEM, DER, PKCS#7 and PKCS#12.

Bank software can keep "soft" certificates on disk (``.pfx``/``.p12`` exports, ``.cer``,
``.p7b`` chains, PEM bundles). :func:`inspect_files` reads them and gives each certificate
as the same :class:`~ukeytool.CertificateEntry` a token gives (:func:`read_certificate`
and :func:`judge` on the same bytes), in a :class:`~ukeytool.FileReport` per file.

The format is told by the content, never by the file name:

* PEM text (``-----BEGIN``): ``CERTIFICATE``, ``X509 CERTIFICATE`` and ``TRUSTED
  CERTIFICATE`` blocks (OpenSSL's alias and key id after the latter become the label and
  id), ``PKCS7``/``CMS`` blocks, and private keys (only their public half is looked at);
  other blocks (CRLs, requests, public keys) are passed over.
* DER: one certificate, or several one after the other; a PKCS#7/CMS SignedData
  (``.p7b``/``.p7c``); a PKCS#12 PFX.

Each part is read on its own, and one that fails is a :class:`~ukeytool.Problem` located
in the file (``"PEM block 2 (line 14)"``) while the others are still read: one bad block
hides nothing else. A certificate whose bytes could be taken out of the file but are not
a readable certificate is an entry with :attr:`~ukeytool.Status.UNREADABLE`, exactly as
on a token.

Each container has its module: :mod:`.pem`, :mod:`.der`, :mod:`.pkcs7`, :mod:`.pkcs12`
(with :mod:`.decrypt` and :mod:`.rc2` for its encryptions, :mod:`.keys` for the private
keys beside the certificates); :mod:`.found` holds what they find and the locations;
:mod:`.inspect` reads the files and makes the reports. Every problem, location and
key-presence reason is a :class:`~ukeytool.Message` (codes ``file.*`` and
``file.location.*``); text from the OS or a parser goes in as it is.

Passwords: tried in this order, the given one, then the empty one (many soft
certificates have none), then, only if a callable was given, whatever it returns.
A password is never stored in a value, logged or put in a message.
"""

from __future__ import annotations

from .inspect import MAX_FILE_SIZE, inspect_file, inspect_files
from .pkcs12 import Password, PasswordSource

__all__ = ["MAX_FILE_SIZE", "Password", "PasswordSource", "inspect_file", "inspect_files"]
