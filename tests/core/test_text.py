from centralita.core.text import fold, fold_words


def test_fold_drops_case_and_accents_only() -> None:
    assert fold("Doctora GARCÍA, ¿mañana?") == "doctora garcia, ¿manana?"


def test_fold_words_keeps_words_with_single_spaces() -> None:
    assert fold_words("  I'd like…  la Dra. Núñez!!  ") == "id like la dra nunez"
    assert fold_words("¿¡?!") == ""
