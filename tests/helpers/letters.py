"""Two form letters on different subjects, and texts that people add to or quote from them,
shared by the campaign tests (unit and integration)."""

LETTER_A = (
    "We ask the governments of the region to open regular pathways for migrant workers, to "
    "let seasonal workers change employers without losing their visas, and to ban the "
    "recruitment fees that leave so many of them in debt before they even start to work."
)
LETTER_B = (
    "Children who arrive alone at a border must be met by child protection staff, never by "
    "detention officers, and their cases must be heard by judges trained to listen to them, "
    "with a lawyer paid by the state at every hearing until a durable solution is found."
)
QUOTE = "Recruitment fees charged to workers should be banned outright."
OWN_PARAGRAPH = (
    "Our shelter in Tapachula received more than four hundred families last year, and most "
    "of them told us that nobody had explained the rules to them in a language they speak."
)
SECOND_PARAGRAPH = (
    "We also run a legal clinic twice a week, where volunteers help people fill in the forms "
    "for asylum, family reunification and work permits, often for the first time in their lives."
)
