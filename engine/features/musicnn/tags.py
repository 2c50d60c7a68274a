"""The 50 tags of musicnn's taggers, in output order (from musicnn 0.1.0 ``configuration.py``).

MTT models were trained on MagnaTagATune, MSD models on the Million Song Dataset. The names
are shown in the GUI as they are (``"female vocal"``, ``"Hip-Hop"``), and genre labels are
drawn from them later.
"""

from __future__ import annotations

MTT_LABELS: tuple[str, ...] = (
    'guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast',
    'piano', 'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male',
    'singing', 'vocals', 'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman',
    'male vocal', 'no vocal', 'pop', 'soft', 'sitar', 'solo', 'man', 'classic', 'choir', 'voice',
    'new age', 'dance', 'male voice', 'female vocal', 'beats', 'harp', 'cello', 'no voice',
    'weird', 'country', 'metal', 'female voice', 'choral',
)

MSD_LABELS: tuple[str, ...] = (
    'rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
    'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists',
    'classic rock', 'soul', 'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill',
    'instrumental', 'punk', 'oldies', 'blues', 'hard rock', 'ambient', 'acoustic', 'experimental',
    'female vocalist', 'guitar', 'Hip-Hop', '70s', 'party', 'country', 'easy listening', 'sexy',
    'catchy', 'funk', 'electro', 'heavy metal', 'Progressive rock', '60s', 'rnb', 'indie pop',
    'sad', 'House', 'happy',
)


GENRE_TAGS: frozenset[str] = frozenset((
    # MTT (MagnaTagATune) genre tags
    "classical", "techno", "electronic", "rock", "ambient", "indian", "opera", "pop", "new age", "dance",
    "country", "metal", "choral",
    # MSD (Million Song Dataset) genre tags
    "alternative", "indie", "alternative rock", "jazz", "chillout", "classic rock", "soul", "indie rock",
    "electronica", "folk", "punk", "blues", "hard rock", "experimental", "Hip-Hop", "easy listening", "funk",
    "electro", "heavy metal", "Progressive rock", "rnb", "indie pop", "House",
))
"""The tags of either tagger that name a genre (the rest name instruments, voices, moods):
what genre summaries, the Insights view and the attribute matrix group music by."""


def labels_for(model: str) -> tuple[str, ...]:
    """The tag names of a musicnn model name (``"MTT_..."`` or ``"MSD_..."``)."""
    if model.startswith("MTT"):
        return MTT_LABELS
    if model.startswith("MSD"):
        return MSD_LABELS
    raise ValueError(f"unknown musicnn model {model!r}: its name starts with MTT or MSD")
