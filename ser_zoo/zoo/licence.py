"""The licence every zoo card carries: the corpora's, which the weights inherit."""

LICENCE = (
    "Trained on research corpora licensed for non-commercial research only (RAVDESS: CC BY-NC-SA 4.0; "
    "CREMA-D: ODbL with its own terms; TESS and SAVEE: free for research). These weights inherit that "
    "restriction: non-commercial research use only."
)
