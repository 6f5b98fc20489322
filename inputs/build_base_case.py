"""Build the default data set ``inputs/base_case.xlsx`` (the Russian rare-earth base case).

Run from the repository root::

    python inputs/build_base_case.py            # writes inputs/base_case.xlsx
    python inputs/build_base_case.py OUT.xlsx   # writes elsewhere

Every figure below carries its origin: a short id from ``SOURCES`` (a public
document, listed on the Sources sheet) or the word ``assumption`` with the
reasoning in ``note``.  Figures that the fact sheets (/work/shared/data/ree-facts*.md)
mark as **estimate**, and everything derived from them, are ``assumption``;
the note then names the sources the estimate rests on.  The script is
deterministic: the same code writes the same cell values.

The data are explained for planners in docs/base_case.md.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow "python inputs/build_base_case.py" from a checkout
    sys.path.insert(0, str(ROOT))

from optmodel.io.write import SheetSpec, write_workbook  # noqa: E402
from optmodel.schema import SHEETS  # noqa: E402

DEFAULT_OUT = ROOT / "inputs" / "base_case.xlsx"
A = "assumption"

FIRST_YEAR = 2026
LAST_YEAR = 2040


def sig(x: float, digits: int = 3) -> float:
    """Round to ``digits`` significant figures (never claim more precision than the data)."""
    if x == 0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def rnd(x: float, step: float) -> float:
    """Round to a multiple of ``step``; integers come back as int."""
    v = math.floor(x / step + 0.5) * step
    return int(v) if float(v).is_integer() else v


# ---------------------------------------------------------------------------
# Sources: short id -> (reference: title, date, address; year)
# ---------------------------------------------------------------------------
SOURCES: list[tuple[str, str, int]] = [
    # Deposits and element distribution
    ("Polymetal2021_TomtorReserve",
     'Polymetal RNS "Tomtor initial Ore Reserve estimate" (JORC, 31 Dec 2019: 11.4 Mt @ 14.5 % '
     "TREO incl. 2.8 % NdPr oxides, 6.0 % Nb2O5), 19 Apr 2021, lse.co.uk; SRK "
     "https://srk.com/en/projects/tomtor-resource-reserve-estimation", 2021),
    ("Polymetal2020_TomtorResource",
     'Polymetal RNS "Tomtor initial Mineral Resource estimate" (13.2 Mt @ 15.0 % REO, 5.9 % '
     "Nb2O5), 7 Sep 2020, lse.co.uk / regulatorynews.co.uk", 2020),
    ("Reuters2021_Tomtor",
     "Reuters, Polymetal Tomtor reserve: plant 160,000 t/yr dry ore, 19 Apr 2021, "
     "https://www.reuters.com/article/russia-rareearths-tomtor-idUKL8N2MC1ZL", 2021),
    ("Interfax2013_Tomtor",
     'Interfax via ukrmet.dp.ua "Россия: запасы РЗМ в Якутии лучшие в мире" (TR2O3 9.53 %, '
     "Y2O3 0.595 %), 25 Apr 2013", 2013),
    ("Wiki_Tomtor",
     'Russian Wikipedia "Томтор (месторождение)" (mirror kampuspedia.com): location 71°03\'N '
     "116°33'E; 400 km to the Laptev Sea; 2,026 km by land to Yakutsk", 2024),
    ("Kommersant2025_Tomtor",
     "Kommersant, Rosneft takes 100 % of Vostok Engineering (Tomtor), investment 150–200 bn "
     "RUB, 20 May 2025, https://www.kommersant.ru/doc/7737605", 2025),
    ("Roskill2018",
     'Roskill news "Russia puts its weight behind rare earths" (Tomtor >1.3 bn USD; SMZ '
     "exports ≈6,000 t to Silmet), 2018, roskill.com", 2018),
    ("Malkova2019_Tomtor",
     "Malkova, Zadiranov et al., E3S Web of Conferences (Tomtor ore cannot be enriched by "
     "traditional methods; pyro + hydro route), 2019 (abstract via ouci.dntb.gov.ua)", 2019),
    ("SRK_TomtorRoute",
     "SRK Consulting project page, Tomtor (ore route: ice roads, barges, ships, rail to "
     "Krasnokamensk), https://srk.com/en/projects/tomtor-resource-reserve-estimation", 2021),
    ("Wiki_Lovozero",
     'Russian Wikipedia "Ловозерское месторождение" (mirror perceptiofr.com): 2,653.1 kt REO '
     "A+B+C1 at 1 Jan 2019, 1.12 % TREO", 2019),
    ("VIMS2021",
     "VIMS, State report on mineral resources of the Russian Federation 2021, rare earths "
     "(Lovozero concentrate 9.5/8.8/7.7 kt; SMZ RE products 2.62/2.62/2.33 kt TR2O3; exports "
     "6,178/6,454/5,391 t; imports 1,326/1,102 t), https://gd2021.data-geo.ru/nfm/tr/", 2022),
    ("Hedrick1997_Loparite",
     'Hedrick, Sinha, Kosynkin, "Loparite, a rare-earth ore", Journal of Alloys and '
     "Compounds 250 (1997) (USGS publications page): concentrate ≈30 % REO", 1997),
    ("Sdelanounas2025_LGOK",
     "sdelanounas.ru, Lovozersky GOK to reach 12,000 t/yr loparite concentrate by 2030 "
     "(SMZ/Rosatom Nedra), 29 Oct 2025", 2025),
    ("Student2_SMZ",
     'student2.ru "ОАО Соликамский магниевый завод": rare-metal shop no. 7, ≈13,000 t/yr '
     "loparite concentrate, chlorination", 2015),
    ("RIA2025_SMZseparation",
     "RIA Novosti via 1prime.ru, Minister Kozlov: SMZ separation complex 2,500 t/yr La, Ce, Nd, "
     "Pr oxides from 2027, 29 Dec 2025", 2025),
    ("Mrchub2025_SMZcapex",
     "mrchub.com, SMZ separation plant 7 bn RUB (≈71.5 M USD), online 2027, feeds up to "
     "1,000 t/yr magnets at Rusatom MetalTech by 2028, 24 Jan 2025", 2025),
    ("MP2021_10K",
     "MP Materials Form 10-K FY2021 (Mountain Pass distribution Ce 50.2, La 32.3, NdPr 15.7 %), "
     "content.edgar-online.com", 2022),
    # Prices
    ("Fastmarkets2024",
     "Fastmarkets, China rare earth prices (NdPr oxide 50–55 USD/kg fob China; NdPr metal "
     "62–68 USD/kg; Nd/Pr oxide cif Rotterdam 53–55), 18 Apr and 20 Jun 2024, "
     "https://www.fastmarkets.com/?p=57207", 2024),
    ("Xinglu2023",
     "Xinglu Chemical price list 1 Dec 2023 (PrNd oxide 472–474 kCNY/t; Dy oxide 2,680–2,710 "
     "CNY/kg; Tb oxide 7,950–8,150 CNY/kg; incl. 13 % VAT), xingluchemical.com", 2023),
    ("SMM2022", "SMM news 17 May 2022 (PrNd oxide 930–945 kCNY/t, peak period), "
     "https://news.metal.com/newscontent/101833787/", 2022),
    ("SMM2019", "SMM news Nov 2019 (PrNd oxide 282–285 kCNY/t ≈40 USD/kg), "
     "https://news.metal.com/newscontent/100994587/", 2019),
    ("SMM2019_LaCe", "SMM news Sep 2019 (La and Ce oxide list price 13,000 CNY/t ≈1.9 USD/kg), "
     "https://news.metal.com/newscontent/100971514/", 2019),
    ("Argus2025_DyTb",
     "Argus via gmteight.com: Dy oxide Europe 250–310 → 700–1,000 USD/kg, Tb oxide 930–1,000 → "
     "2,000–4,000 USD/kg, Apr → May 2025, 9 May 2025", 2025),
    ("USGS_MCS2021_REE",
     "USGS Mineral Commodity Summaries 2021, Rare earths (La, Ce oxide 2 USD/kg; Nd oxide "
     "40–50; Dy 179–258; Tb 415–628; US consumption 7,800 t REO 2020)", 2021),
    ("USGS_MCS2021_Nb",
     "USGS Mineral Commodity Summaries 2021, Niobium (ferroniobium 20–24 USD/kg)", 2021),
    ("IMARC2023_Ce", "IMARC cerium oxide price ≈1.0 USD/kg 2023 (via Google Dataset Search; "
     "weak source)", 2023),
    ("Chinatungsten2022",
     "chinatungsten news: Baotou RE concentrate (REO 50–51 %) 26,887 CNY/t 2022, 16,269 CNY/t "
     "2021, 10 Jan 2022", 2022),
    ("Gitnux_NdFeB", 'gitnux.org "NdFeB magnet industry statistics" (≈85 USD/kg Q4 2023; '
     "weak aggregator)", 2024),
    # Demand
    ("TAdviser_REM",
     'TAdviser "Rare earth metals in Russia" (Minpromtorg): 1,420 t REM consumed 2023 (830 t '
     "catalysts, 200 t renewables, 100 t glass/optics), 3,000 t demand target 2030", 2024),
    ("Metalnomist2024_Japan",
     "metalnomist.com, Japan RE imports 9,898 t (metal equivalent) in H1 2024, China 79.6 %, "
     "Aug 2024", 2024),
    ("Argus2023_Japan", "Argus, Japan RE imports 665–857 t/month in 2022, 3 Jan 2023", 2023),
    ("KoreaTimes_KSM", "Korea Times, KSM Metals (Ochang) RE metals capacity 5,000–10,000 t/yr, "
     "2023", 2023),
    ("Bloomberg2010_Korea", "Bloomberg via worldal.com, South Korea RE imports 2,655 t in 2009, "
     "Oct 2010", 2010),
    ("Eurostat2024_EU",
     "Eurostat via energetskiportal.com / WAM 12 Apr 2025: EU REE imports 12,900 t 2024 "
     "(Russia 3,700 t)", 2025),
    ("ECA2026_magnets", "European Court of Auditors via plataformamedia.com: EU industry used "
     "20,000 t permanent magnets in 2024 (17,000 t from China), Feb 2026", 2026),
    ("USGS_MCS2019", "USGS Mineral Commodity Summaries 2019, Rare earths (US apparent "
     "consumption 9,500 t REO 2018)", 2019),
    ("USGS_Nb2023", "USGS via mining.com.au (hepingpai.com): world Nb mine production 83,000 t "
     "2023; consumption ≈75 kt (CPM/MMTA)", 2024),
    ("Argus2023_Silmet", "Argus 2023: NPM Silmet (Sillamäe) light-RE separation 3,000 t/yr",
     2023),
    ("Quartz2022_Silmet", "Quartz qz.com/2148531 (Neo Q4-2021 call): 70 % of Silmet RE feed "
     "from SMZ; SMZ not sanctioned, Mar 2022", 2022),
    ("MRO2023_Silmet", "MRO Magazine / Neo press release: Silmet stops hydrometallurgical "
     "Nb/Ta ore processing, RE operations unchanged, 19 Dec 2023", 2023),
    ("InvestigateEurope2023", "Investigate Europe via euobserver.com: EU imported 13.7 bn EUR "
     "of CRMs from Russia Mar 2022–Jul 2023, CRMs not sanctioned, Oct 2023", 2023),
    ("Eurotoday2026_ban", "eurotoday.org: proposed EU package with import bans on Russian "
     "metals, chemicals and critical minerals, ~Feb 2026 (proposal)", 2026),
    ("Proclamation10420",
     "US Proclamation 10420 (35 % duty on ≈570 HTS lines of Russian minerals, metals, "
     "chemicals from 27 Jul 2022) via cmtradelaw.com / wita.org; PNTR revoked 8 Apr 2022 "
     "(Covington globalpolicywatch.com)", 2022),
    # Capex benchmarks
    ("Kallanish2024_Kalgoorlie", "Kallanish via seaisi.org: Lynas Kalgoorlie cracking/leach "
     "plant cost 800 M AUD, 11 Nov 2024", 2024),
    ("Creamer2024_Eneabba", "Creamer Media: Iluka Eneabba refinery 1.7–1.8 bn AUD for 17,500 "
     "t/yr REO, 21 Feb 2024", 2024),
    ("LynasMalaysiaHRE2025", "lcdproduct.com: Lynas Malaysia heavy-RE plant 500 M MYR for "
     "5,000 t/yr feed, 2025", 2025),
    ("FDI_NeoNarva", "fdiintelligence.com / global-recycling.info: Neo Narva sintered magnet "
     "plant 100 M EUR for 2,000 t/yr, 2022–25", 2025),
    ("FortWorth_MP", "fortworthinc.com: MP Materials Fort Worth metal/alloy/magnet plant ≥100 "
     "M USD for ≈1,000 t/yr NdFeB, 2022", 2022),
    ("Kommersant2015_SMZ", "Kommersant: SMZ separation 3,600 t/yr and LGOK to 12 kt/yr, 6–7 bn "
     "RUB, 2015, https://kommersant.ru/amp/2730196", 2015),
    # Recoveries and magnet composition
    ("BearLodge2014_PFS", "Rare Element Resources, Bear Lodge NI 43-101 PFS (leach 85–99 %, "
     "overall Nd 90–95 %), 2014, pp. 46, 215–216", 2014),
    ("Magnet_composition", "couragemagnet.com FAQ; sensmagnetics.com: sintered NdFeB "
     "composition (RE 29–32.5 wt %, Dy 0.6–1.2 %, B 1.1–1.2 %, Fe 64–69 %)", 2024),
    ("Eurare_electrolysis", "eurare.org; sourcebyspec.com: oxyfluoride electrolysis of "
     "Nd/Pr metal", 2025),
    # Logistics
    ("RailDistances", "kolejtranssyberyjska.pl; iastoppers: rail km from Moscow: Perm 1,397, "
     "Novosibirsk 3,303, Krasnoyarsk 4,065, Chita 6,166, Vladivostok 9,259", 2024),
    ("Sakhapress_winterroad", "sakhapress.ru: Anabar winter road (ALROSA Almazy Anabara) "
     "1,786 km, open December–April, ~2020", 2020),
    ("Sovcomflot_NSR", "Sovcomflot via energybulletin.org: NSR navigation July–November, 2019; "
     "nsr.rosatom.ru", 2019),
    ("Prometall_Tomtor", 'prometall.info "Роснефть освоит Томтор": route via Arkhangelsk on '
     "the Northern Sea Route", 2025),
    ("Wiki_AnabarBay", "Wikipedia, Anabar Bay (Laptev Sea), 73°42'N 114°00'E", 2020),
    ("FSARF2024_freight", 'fsarf.ru "Стоимость перевозки мороженой рыбной продукции морем на '
     'май 2024": 65 USD/t Busan, 74 USD/t Dalian (40\' reefer, Russian Far East)', 2024),
    ("MoscowTimes2025_premium", "Gazprombank CEP via The Moscow Times: China→Russia 6,159 USD "
     "per 40' vs 1,957 Asia→Rotterdam, mid-Dec 2025 (sanctions premium ≈3×)", 2025),
    ("Drewry2025_WCI", "Drewry World Container Index via redigo.ru / shippingtelegraph.com: "
     "Shanghai–Rotterdam 2,165–2,840 USD/FEU, 2025–26", 2025),
    ("IPEM2014_rail", "IPEM (Savchuk) report on rail freight tariffs, 22 Apr 2014, ipem.ru", 2014),
    ("RZD2013_AR", "RZD Annual Report 2013, income analysis (1,088.2 bn RUB / 2,196.2 bn "
     "t-km), ar2013.rzd.ru", 2014),
    # Policy
    ("NDPI_bill2019", "eg-online.ru; metaltorg.ru (bill No. 605369-7): NDPI on rare-metal ores "
     "8 % → 4.8 %, 2018–19", 2019),
    ("Minpromtorg2025_Krm", "Minpromtorg via 1prime.ru: NDPI coefficient K_rm = 0.1 for 120 "
     "tax periods for new rare-metal projects, 10 Aug 2025", 2025),
    ("Interfax2021_Krenta", "Interfax 28 Jul 2021 (interfax.ru/business/781181): NDPI rent "
     "coefficient 3.5 on rare and RE metals from 2021", 2021),
    ("TASS2023_exportduty", "TASS 21 Sep 2023 and 25 Jan 2024: export duties 0–7 % linked to "
     "RUB/USD, 1 Oct 2023–31 Dec 2024 (RE products not confirmed on the list)", 2024),
    ("Interfax2025_importdependence", "Interfax 1 Jul 2025 (interfax.com): Russian REM import "
     "dependence 75 % (2024) → 45 % (2030)", 2025),
    ("AdamasMOFCOM2025", "adamasintel.com; UK Magnetics Society: China MOFCOM/GAC "
     "Announcement No. 18, export licences for Sm, Gd, Tb, Dy, Lu, Sc, Y, 4 Apr 2025", 2025),
]
SOURCE_IDS = {s for s, _, _ in SOURCES}

# ---------------------------------------------------------------------------
# Key technical assumptions (one place, so that reviewers see them together)
# ---------------------------------------------------------------------------
TOMTOR_TREO = 0.145  # Polymetal2021_TomtorReserve
TOMTOR_NB2O5 = 0.060  # Polymetal2021_TomtorReserve
LOPARITE_TREO = 0.30  # Hedrick1997_Loparite
LOPARITE_NB2O5 = 0.08  # estimate (ree-facts.md): assumption
CARBONATE_REO = 0.43  # VIMS2021: 2,620 t TR2O3 in 6,178 t product (2019), 2,330 / 5,391 (2021)
REC_CHLORINATION = 0.95  # assumption: VIMS 2019-21 concentrate x 30 % vs RE products -> 0.92-1.0
REC_NB_SMZ = 0.85  # assumption (ree-facts.md estimate: 85-90 %)
REC_TOMTOR_CRACK = 0.85  # assumption (ree-facts.md estimate: 80-85 %; Bear Lodge leach ~90 %)
REC_NB_TOMTOR = 0.80  # assumption
REC_SX = 0.96  # assumption (ree-facts-2.md estimate: 95-98 % per product)
REC_METAL = 0.95  # assumption (ree-facts-2.md estimate: 95-98 %); gives 0.37 t oxide/t magnet
ND_METAL_PER_OXIDE = 0.857  # stoichiometry 2 Nd / Nd2O3
NDPR_METAL_REO = 1.166  # t oxide per t NdPr metal (1 / 0.857)

# % of TREO, lumped into the separated products of the model
TOMTOR_SPLIT = {  # ree-facts-2.md §1a (estimate): La 24, Ce 44, Pr 4.7, Nd 14.3, Tb 0.15, Dy 0.6
    "La_oxide": 0.24, "Ce_oxide": 0.44, "NdPr_oxide": 0.19, "DyTb_oxide": 0.0075,
    "SEGY_oxide": 0.1225,  # Sm 1.8, Eu 0.5, Gd 1.3, Ho 0.1, Er 0.2, Y 6.0, others 2.35
}
LOPARITE_SPLIT = {  # ree-facts.md §1 (estimate): La 25, Ce 50, Pr 5, Nd 15, Sm 0.7 ... other 3.5
    "La_oxide": 0.25, "Ce_oxide": 0.50, "NdPr_oxide": 0.20, "SEGY_oxide": 0.05,
}

RAIL_USD_TKM = 0.022  # assumption: mid of 0.017-0.028 USD/t-km (ree-facts-2.md estimate)
RAIL_USD_T = 5  # assumption: loading/forwarding per rail leg (also makes direct routes win ties)
WINTER_ROAD_USD_TKM = 0.15  # assumption
RIVER_USD_TKM = 0.012  # assumption
NSR_USD_TKM = 0.025  # assumption
SANCTIONS_PREMIUM = 2.0  # assumption: mid of x1.5-3 (ree-facts-2.md estimate)

# Reference prices, USD per t of product (export parity, fob China-type)
P = {
    "tomtor_ore": 400,  # assumption: ≈2.75 USD/kg contained REO, below concentrate prices
    "carbonate_loparite": 1900,  # assumption: 4.5 USD/kg REO x 0.43
    "carbonate_tomtor": 2400,  # assumption: 5.5 USD/kg REO x 0.43
    "La_oxide": 2000,
    "Ce_oxide": 2000,
    "NdPr_oxide": 55000,
    "DyTb_oxide": 450000,
    "SEGY_oxide": 5000,
    "NdPr_metal": 65000,
    "NdFeB_magnet": 60000,
    "Nb2O5": 26000,
}
PRICE_NOTE = {
    "La_oxide": "2 USD/kg (USGS_MCS2021_REE; SMM2019_LaCe ≈1.9)",
    "Ce_oxide": "2 USD/kg (USGS_MCS2021_REE; SMM2019_LaCe ≈1.9)",
    "NdPr_oxide": "55 USD/kg (Fastmarkets2024 50-55 fob China, 53-55 cif Rotterdam)",
    "DyTb_oxide": "≈450 USD/kg, 80 % Dy ≈300 + 20 % Tb ≈1,000 (Argus2025_DyTb, Xinglu2023)",
    "SEGY_oxide": "5 USD/kg (assumption, no source)",
}
DOMESTIC_MARKUP = 1.1  # assumption: import parity (freight, handling) over export prices
US_DUTY = 0.35  # Proclamation10420 (coverage of HTS 2846/2805 not verified)


# ---------------------------------------------------------------------------
# Sheets
# ---------------------------------------------------------------------------
def settings() -> list[dict]:
    return [
        dict(key="first_year", value=FIRST_YEAR, source=A,
             note="First planning year (the year after the data's latest price points)."),
        dict(key="last_year", value=LAST_YEAR, source=A,
             note="15-year horizon: Tomtor can be online ≈2030 and run ≥10 years; salvage "
             "credits plants alive after 2040."),
        dict(key="discount_rate", value=0.10, source=A,
             note="Real discount rate for a risky Russian mining/processing project (central "
             "bank key rate 16–21 % nominal in 2024–25); 8 % and 12 % are sensible sweeps."),
        dict(key="currency", value="USD", source=A, note="Constant 2024 USD, no escalation."),
        dict(key="unmet_penalty_usd_per_t", value=None, source=A,
             note="Blank: no market has a minimum (demand is an opportunity, not an obligation)."),
        dict(key="mip_gap", value=0.0001, source=A, note="Default relative gap."),
        dict(key="time_limit_s", value=120, source=A,
             note="Safety limit; the base case solves in seconds."),
        dict(key="salvage", value="on", source=A,
             note="Credit the undepreciated capex of plants alive in 2040 (straight line), so "
             "late builds are not penalised by the horizon end."),
        dict(key="threads", value=1, source=A, note="Reproducible results."),
    ]


NODES = [
    # node, kind, region, country, lat, lon, source, note
    ("Tomtor", "mine", "Sakha (Yakutia), Olenyok ulus", "Russia", 71.05, 116.55, "Wiki_Tomtor",
     "Tomtor Nb-REE deposit, Buranny area; no all-season road, off-grid (diesel power)."),
    ("Lovozero", "mine", "Murmansk oblast", "Russia", 67.9, 34.6, A,
     "Karnasurt underground mine and Lovozersky GOK concentrator (Revda); coordinates of "
     "Revda, approximate. Deposit: Wiki_Lovozero, output VIMS2021."),
    ("Solikamsk", "plant", "Perm krai", "Russia", 59.65, 56.77, "VIMS2021",
     "Solikamsk Magnesium Works (SMZ, Rosatom): chlorination of loparite concentrate to RE "
     "carbonate + Nb/Ta/Ti; separation complex from 2027."),
    ("Novosibirsk", "technopark", "Novosibirsk oblast", "Russia", 55.03, 82.92, A,
     "Siberian technopark candidate (city coordinates). No site or cost data were found "
     "(ree-facts.md gaps): same unit costs as other sites."),
    ("Tomsk", "technopark", "Tomsk oblast", "Russia", 56.5, 84.97, A,
     "Siberian technopark candidate (city coordinates); reached by rail via Taiga."),
    ("Krasnoyarsk", "technopark", "Krasnoyarsk krai", "Russia", 56.01, 92.87, A,
     "Siberian technopark candidate (city coordinates); on the Trans-Siberian and the Yenisei "
     "(river link to the Northern Sea Route at Dudinka)."),
    ("Anabar_Bay", "hub", "Sakha (Yakutia), Anabar ulus", "Russia", 73.7, 114.0, "Wiki_AnabarBay",
     "Laptev Sea transshipment point at the Anabar river mouth (≈400 km from Tomtor, "
     "Wiki_Tomtor): winter-road terminal and summer loading onto NSR ships."),
    ("Dudinka", "port", "Krasnoyarsk krai", "Russia", 69.4, 86.18, A,
     "Yenisei river/sea port (transshipment from NSR ships to river barges); coordinates of "
     "the town."),
    ("Arkhangelsk", "port", "Arkhangelsk oblast", "Russia", 64.54, 40.54, "Prometall_Tomtor",
     "Western NSR gateway to the rail network (route named by the previous Tomtor owner)."),
    ("Vladivostok", "port", "Primorsky krai", "Russia", 43.12, 131.89, "RailDistances",
     "Far-East export port (Pacific: China, Korea, Japan, USA)."),
    ("St_Petersburg", "port", "Saint Petersburg", "Russia", 59.93, 30.31, A,
     "Baltic export port (EU); city coordinates."),
    ("Moscow", "market", "Moscow", "Russia", 55.76, 37.62, "TAdviser_REM",
     "Domestic demand (catalysts, glass, magnets, renewables) and imports, lumped at Moscow."),
    ("China", "market", "Liaoning (Dalian port)", "China", 38.92, 121.63, "FSARF2024_freight",
     "Chinese buyers, delivered at Dalian (freight quote point)."),
    ("Japan", "market", "Kanagawa (Yokohama)", "Japan", 35.44, 139.64, A,
     "Japanese buyers, delivered at Yokohama."),
    ("Korea", "market", "Busan", "South Korea", 35.1, 129.04, "FSARF2024_freight",
     "Korean buyers (e.g. KSM Metals), delivered at Busan."),
    ("EU", "market", "Rotterdam (EU)", "Netherlands", 51.92, 4.48, A,
     "EU buyers of oxides, metal and magnets, delivered at Rotterdam."),
    ("Sillamae", "market", "Ida-Viru (Sillamäe)", "Estonia", 59.4, 27.76, "Argus2023_Silmet",
     "NPM Silmet separation plant, the historic buyer of SMZ carbonate (Quartz2022_Silmet)."),
    ("USA", "market", "California (Los Angeles/Long Beach)", "United States", 33.75, -118.2, A,
     "US buyers, delivered at Los Angeles/Long Beach."),
]


def nodes() -> list[dict]:
    return [
        dict(node=n, kind=k, region=r, country=c, lat=la, lon=lo, opening_cost_musd=0,
             source=s, note=note)
        for n, k, r, c, la, lo, s, note in NODES
    ]


def products() -> list[dict]:
    return [
        dict(product="tomtor_ore", stage=0, reo_content=TOMTOR_TREO,
             source="Polymetal2021_TomtorReserve,Malkova2019_Tomtor",
             note="Direct-shipping high-grade ore (14.5 % TREO, 6.0 % Nb2O5): it cannot be "
             "enriched by conventional beneficiation, so there is no Tomtor concentrate."),
        dict(product="loparite_conc", stage=1, reo_content=LOPARITE_TREO,
             source="Hedrick1997_Loparite,VIMS2021",
             note="Lovozero loparite concentrate (≈95 % loparite, ≈30 % REO; ≈8 % Nb2O5, "
             "0.6 % Ta2O5, 39 % TiO2 estimated)."),
        dict(product="carbonate_loparite", stage=2, reo_content=CARBONATE_REO, source="VIMS2021",
             note="SMZ collective RE carbonate from loparite. REO content = 2,620 t TR2O3 in "
             "6,178 t exported product (2019); 2021 gives 0.43 as well. Light REE only.",
             disposal_cost_usd_per_t=None),
        dict(product="carbonate_tomtor", stage=2, reo_content=CARBONATE_REO, source=A,
             note="Mixed RE carbonate from cracking Tomtor ore: assumed same REO content as the "
             "SMZ product (VIMS2021); richer in Nd, Pr, Y and Dy/Tb than the loparite one."),
        dict(product="La_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100, source=A,
             note="Lanthanum oxide. Disposal = stockpiling surplus (100 USD/t, assumption)."),
        dict(product="Ce_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100, source=A,
             note="Cerium oxide, the main surplus element. Disposal = stockpiling (assumption)."),
        dict(product="NdPr_oxide", stage=3, reo_content=1.0, source=A,
             note="Didymium (Nd+Pr) oxide, the magnet feed and main value driver."),
        dict(product="DyTb_oxide", stage=3, reo_content=1.0, source=A,
             note="Dy + Tb oxides lumped (Tomtor ratio ≈0.6 : 0.15, i.e. ≈80 % Dy)."),
        dict(product="SEGY_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100,
             source=A,
             note="Lump of the remaining oxides: Sm, Eu, Gd, Y, Ho, Er and others (mostly Y for "
             "Tomtor). Disposal = stockpiling (assumption)."),
        dict(product="NdPr_metal", stage=4, reo_content=sig(NDPR_METAL_REO), source=A,
             note="NdPr metal (Nd75Pr25); REO content = oxide mass per metal mass (1/0.857)."),
        dict(product="NdFeB_magnet", stage=5, reo_content=0.36, source=A,
             note="Sintered NdFeB: 30 wt % NdPr metal (0.35 t oxide eq.) + ≈1 wt % Dy/Tb "
             "(0.012 t oxide) per t, Magnet_composition; iron, boron and other alloying "
             "inputs are costed in the magnet opex."),
        dict(product="Nb2O5", stage=3, reo_content=0.0, source=A,
             note="Niobium pentoxide co-product (no REO). Stage 3 (a refined oxide) for the "
             "stage<=N policy targets; it does not enter the REO-weighted depth index."),
    ]


PROCESSES = [
    # process, stage_from, stage_to, activity_unit, source, note
    ("tomtor_mining", 0, 0, "t ore mined", "Polymetal2021_TomtorReserve",
     "Open-pit mining of Tomtor (Buranny) ore."),
    ("lovozero_mining", 0, 1, "t loparite concentrate produced", "VIMS2021",
     "Karnasurt underground mining plus gravity/magnetic concentration at Lovozersky GOK, "
     "one step (the ore itself is never traded)."),
    ("loparite_cracking", 1, 2, "t loparite concentrate treated", "Student2_SMZ",
     "SMZ chlorination in molten salts; Nb, Ta, Ti split off; RE recovered as carbonate."),
    ("tomtor_cracking", 0, 2, "t ore treated", "Malkova2019_Tomtor",
     "Pyro + hydrometallurgical cracking of Tomtor ore to mixed RE carbonate and Nb2O5."),
    ("sep_loparite", 2, 3, "t REO in carbonate feed", "RIA2025_SMZseparation",
     "Solvent-extraction separation of loparite carbonate (light REE)."),
    ("sep_tomtor", 2, 3, "t REO in carbonate feed", A,
     "Solvent-extraction separation of Tomtor carbonate (light + heavy REE)."),
    ("ndpr_metal", 3, 4, "t NdPr oxide treated", "Eurare_electrolysis",
     "Oxyfluoride electrolysis of NdPr oxide to metal."),
    ("magnet_making", 4, 5, "t magnet produced", "Magnet_composition",
     "Alloying, strip casting, milling, pressing, sintering of NdFeB magnets."),
]


def processes() -> list[dict]:
    return [
        dict(process=p, stage_from=a, stage_to=b, activity_unit=u, source=s, note=n)
        for p, a, b, u, s, n in PROCESSES
    ]


def recipes() -> list[dict]:
    rows: list[dict] = []

    def add(process, product, direction, qty, source, note=""):
        rows.append(dict(process=process, product=product, direction=direction,
                         qty_per_activity=qty, source=source, note=note))

    add("tomtor_mining", "tomtor_ore", "out", 1, "Polymetal2021_TomtorReserve",
        "Activity unit = 1 t ore.")
    add("lovozero_mining", "loparite_conc", "out", 1, "VIMS2021",
        "Activity unit = 1 t concentrate.")
    add("loparite_cracking", "loparite_conc", "in", 1, "Student2_SMZ", "Activity unit.")
    add("loparite_cracking", "carbonate_loparite", "out",
        sig(LOPARITE_TREO * REC_CHLORINATION / CARBONATE_REO), A,
        "0.30 t REO x 0.95 recovery / 0.43 t REO per t carbonate. Recovery: VIMS2021 2019-21 "
        "concentrate x 30 % vs RE products implies 92-100 %.")
    add("loparite_cracking", "Nb2O5", "out", sig(LOPARITE_NB2O5 * REC_NB_SMZ), A,
        "≈8 % Nb2O5 x 0.85 recovery (both estimates, ree-facts.md); 9.5 kt concentrate gives "
        "≈650 t/yr, inside the estimated 550-700 t/yr.")
    add("tomtor_cracking", "tomtor_ore", "in", 1, "Malkova2019_Tomtor",
        "Ore fed without beneficiation.")
    add("tomtor_cracking", "carbonate_tomtor", "out",
        sig(TOMTOR_TREO * REC_TOMTOR_CRACK / CARBONATE_REO), A,
        "0.145 t REO x 0.85 recovery (estimate 80-85 %; cracking + leach ≈90 % at Bear Lodge, "
        "BearLodge2014_PFS) / 0.43.")
    add("tomtor_cracking", "Nb2O5", "out", sig(TOMTOR_NB2O5 * REC_NB_TOMTOR), A,
        "6.0 % Nb2O5 (Polymetal2021_TomtorReserve) x 0.80 recovery (assumption).")
    for proc, split, why in (
        ("sep_loparite", LOPARITE_SPLIT,
         "Loparite distribution (estimate, ree-facts.md): La 25, Ce 50, Pr+Nd 20, other 5 % "
         "(Sm, Eu, Gd, Y ...); Dy+Tb ≈0 (Ce/Yb ≈78,000); close to the Mountain Pass light-REE "
         "proxy (MP2021_10K)"),
        ("sep_tomtor", TOMTOR_SPLIT,
         "Tomtor distribution (estimate, ree-facts-2.md §1a): La 24, Ce 44, Pr+Nd 19, Dy+Tb "
         "0.75, Sm+Eu+Gd+Ho+Er+Y+others 12.25 %, scaled to NdPr ≈19 % "
         "(Polymetal2020_TomtorResource, Polymetal2021_TomtorReserve) and Y ≈6 % "
         "(Interfax2013_Tomtor)"),
    ):
        carb = "carbonate_loparite" if proc == "sep_loparite" else "carbonate_tomtor"
        add(proc, carb, "in", sig(1 / CARBONATE_REO), A,
            "1 t REO = 1/0.43 t carbonate.")
        for prod, share in split.items():
            add(proc, prod, "out", sig(share * REC_SX), A,
                f"{why}; x {REC_SX} SX recovery (estimate 95-98 %).")
    add("ndpr_metal", "NdPr_oxide", "in", 1, "Eurare_electrolysis", "Activity unit.")
    add("ndpr_metal", "NdPr_metal", "out", sig(ND_METAL_PER_OXIDE * REC_METAL), A,
        "0.857 t metal per t oxide (stoichiometry) x 0.95 yield (estimate 95-98 %).")
    add("magnet_making", "NdPr_metal", "in", 0.30, "Magnet_composition",
        "≈30 wt % NdPr (RE 29-32.5 wt %); with 0.814 metal yield = 0.37 t NdPr oxide per t "
        "magnet (ree-facts-2.md).")
    add("magnet_making", "DyTb_oxide", "in", 0.012, A,
        "≈1 wt % Dy/Tb (Magnet_composition: Dy 0.6-1.2 %) as oxide (x 1.15); metallisation "
        "of Dy/Tb folded into the magnet step.")
    add("magnet_making", "NdFeB_magnet", "out", 1, "Magnet_composition", "Activity unit.")
    return rows


# --- existing and candidate capacity -------------------------------------------------------
def node_processes() -> list[dict]:
    rows: list[dict] = []

    def add(node, process, opex, cap=0, year=None, source=A, note=""):
        rows.append(dict(node=node, process=process, year=year, existing_capacity=cap,
                         opex_usd_per_activity=opex, min_load=0, source=source, note=note))

    add("Lovozero", "lovozero_mining", 600, 9500, source=A,
        note="Capacity = 2019 output 9.5 kt concentrate (VIMS2021; 7.7 kt in 2021). Opex "
        "assumption: ≈2 USD/kg REO for underground mining + concentration of 1.12 % ore.")
    add("Solikamsk", "loparite_cracking", 700, 13000, source=A,
        note="Capacity 13,000 t/yr concentrate (Student2_SMZ, older figure) ≈3.7 kt REO/yr, "
        "above the 2.3-2.6 kt made in 2019-21 (VIMS2021), which was limited by concentrate "
        "supply. Opex assumption ≈2.5 USD/kg REO (Ti/Ta by-products not credited).")
    add("Solikamsk", "sep_loparite", 5000, 2600, source=A,
        note="Committed SMZ separation complex: 2,500 t/yr oxides (RIA2025_SMZseparation) / "
        "0.96 recovery ≈2,600 t REO feed, from 2027 (the 2026 row is 0). Opex assumption: "
        "5 USD/kg REO, part of the 8-12 USD/kg all-in ex-China estimate.")
    add("Solikamsk", "sep_loparite", 5000, 0, year=FIRST_YEAR, source="RIA2025_SMZseparation",
        note="Not yet commissioned in 2026.")
    add("Tomtor", "tomtor_mining", 80,
        note="Candidate (build option). Opex assumption: 80 USD/t ore for remote arctic open "
        "pit with diesel power (≈0.55 USD/kg REO).")
    add("Tomtor", "tomtor_cracking", 600,
        note="Candidate at the mine. Opex assumption: 300 USD/t ore as elsewhere + 300 USD/t "
        "for diesel power and hauling ≈1 t of reagents per t ore in over the winter road.")
    for n in ("Krasnoyarsk", "Tomsk", "Solikamsk"):
        add(n, "tomtor_cracking", 300,
            note="Candidate. Opex assumption: ≈2.5 USD/kg REO (0.12 t REO per t ore).")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk"):
        add(n, "sep_tomtor", 5000,
            note="Candidate. Opex assumption: 5 USD/kg REO (as SMZ).")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk"):
        add(n, "ndpr_metal", 3000,
            note="Candidate. Opex assumption: 3 USD/kg oxide (electricity, fluorides, anodes).")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk"):
        add(n, "magnet_making", 15000,
            note="Candidate. Opex assumption: 15 USD/kg magnet incl. ≈0.7 t iron/ferroboron "
            "(≈1 USD/kg), energy, labour, machining losses and coating.")
    return rows


FOM = 0.03  # assumption: fixed O&M = 3 % of capex per year


def build_options() -> list[dict]:
    rows: list[dict] = []

    def add(option, node, process, unit_cap, capex, lead, earliest, max_units, note,
            source=A, lifetime=25, divisible="no"):
        rows.append(dict(option=option, node=node, process=process, unit_capacity=unit_cap,
                         capex_musd=capex, fixed_om_musd_per_year=sig(FOM * capex, 2),
                         lead_time_years=lead, earliest_year=earliest, max_units=max_units,
                         lifetime_years=lifetime, divisible=divisible, source=source,
                         note=note))

    add("Tomtor_mine", "Tomtor", "tomtor_mining", 80000, 250, 4, FIRST_YEAR, 2,
        "Unit = half the 160 kt/yr plan (Reuters2021_Tomtor). Capex assumption: 250 MUSD per "
        "unit for pit, off-grid power, camp, winter-road fleet and coastal terminal; with 2 "
        "cracking + 4 separation units the project totals ≈2 bn USD, inside the 150-200 bn RUB "
        "(1.7-2.2 bn USD) of Kommersant2025_Tomtor (>1.3 bn USD in 2018, Roskill2018).")
    crack_reo = 80000 * TOMTOR_TREO * REC_TOMTOR_CRACK
    crack_capex = rnd(40e3 * crack_reo / 1e6, 10)
    for n, capex, extra in (
        ("Tomtor", rnd(crack_capex * 1.5, 10), " x1.5 arctic construction premium (assumption)"),
        ("Krasnoyarsk", crack_capex, ""),
        ("Tomsk", crack_capex, ""),
        ("Solikamsk", crack_capex, ""),
    ):
        add(f"Crack_{n}", n, "tomtor_cracking", 80000, capex, 4, FIRST_YEAR, 2,
            f"80 kt ore/yr ≈{rnd(crack_reo, 10)} t REO/yr. Capex assumption: 40 k USD per t/yr "
            f"REO, low end of the 40-80 k estimate (Kallanish2024_Kalgoorlie; integrated "
            f"Creamer2024_Eneabba ≈65 k){extra}.")
    sep_capex = rnd(35e3 * 5000 / 1e6, 5)
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk"):
        add(f"SepTomtor_{n}", n, "sep_tomtor", 5000, sep_capex, 3, FIRST_YEAR, 2,
            "5,000 t REO/yr feed. Capex assumption: 35 k USD per t/yr REO, between the SMZ "
            "complex (≈29 k, Mrchub2025_SMZcapex) and the 30-60 k estimate "
            "(LynasMalaysiaHRE2025, Creamer2024_Eneabba).")
    add("SepLoparite_SMZ2", "Solikamsk", "sep_loparite", 2600, 72, 2, 2027, 1,
        "A second line like the committed complex: 7 bn RUB ≈72 MUSD for 2,500 t/yr oxides "
        "(Mrchub2025_SMZcapex, RIA2025_SMZseparation); needed to separate all SMZ carbonate.")
    add("Lovozero_expansion", "Lovozero", "lovozero_mining", 2500, 35, 3, FIRST_YEAR, 1,
        "9.5 → 12 kt/yr concentrate, the 2030 target (Sdelanounas2025_LGOK). Capex assumption: "
        "≈3 bn RUB, the share of the 6-7 bn RUB 2015 plan (Kommersant2015_SMZ) not spent on "
        "separation.")
    metal_t = 1500 * ND_METAL_PER_OXIDE * REC_METAL
    metal_capex = rnd(20e3 * metal_t / 1e6, 5)
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk"):
        add(f"Metal_{n}", n, "ndpr_metal", 1500, metal_capex, 2, FIRST_YEAR, 2,
            f"1,500 t oxide/yr ≈{rnd(metal_t, 10)} t metal/yr. Capex assumption: 20 k USD per "
            "t/yr metal, mid of the 15-30 k estimate (no published figure). Divisible: "
            "electrolysis is built from small modular cells (20-40 kA, Eurare_electrolysis), "
            "so any size up to 3,000 t/yr oxide may be built.", lifetime=20, divisible="yes")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk"):
        add(f"Magnet_{n}", n, "magnet_making", 1000, 80, 3, FIRST_YEAR, 3,
            "1,000 t/yr NdFeB. Capex assumption: 80 k USD per t/yr, inside the 50-110 k "
            "estimate (FDI_NeoNarva ≈54 k, FortWorth_MP ≥100 k).", lifetime=20)
    return rows


def deposits() -> list[dict]:
    return [
        dict(deposit="Tomtor_Buranny", node="Tomtor", product="tomtor_ore",
             reserve_t=11_400_000, max_per_year_t=160_000, extraction_tax_usd_per_t=7,
             source=A,
             note="Reserve 11.4 Mt (Polymetal2021_TomtorReserve); annual 160 kt "
             "(Reuters2021_Tomtor). Extraction tax assumption: NDPI 4.8 % "
             "(NDPI_bill2019) x rent coefficient 3.5 (Interfax2021_Krenta) x K_rm 0.1 for "
             "new rare-metal projects (Minpromtorg2025_Krm) on an ore value of ≈400 USD/t ≈7 "
             "USD/t (≈67 USD/t without K_rm; see scenario ndpi_full_rate)."),
        dict(deposit="Lovozero_loparite", node="Lovozero", product="loparite_conc",
             reserve_t=8_800_000, max_per_year_t=12_000, extraction_tax_usd_per_t=150,
             source=A,
             note="Reserve in concentrate terms: 2,653 kt REO A+B+C1 (Wiki_Lovozero) / 0.30 "
             "t REO per t concentrate, ignoring dressing losses (never binding). Annual limit "
             "12 kt = 2030 target (Sdelanounas2025_LGOK). Tax assumption: NDPI 4.8 % x 3.5 "
             "(no K_rm for an existing mine) on ≈900 USD/t concentrate ≈150 USD/t."),
    ]


# --- routes ---------------------------------------------------------------------------------
NSR_FIRST_YEAR = 2030  # assumption: Arctic logistics built with the mine
TOMTOR_GOODS = "tomtor_ore,carbonate_tomtor,Nb2O5"  # what leaves Tomtor


def routes() -> list[dict]:
    rows: list[dict] = []

    def add(o, d, mode, km, usd_t, usd_tkm, note, source=A, cap=None, prods=None,
            first=None, last=None):
        rows.append(dict(origin=o, destination=d, mode=mode, distance_km=km,
                         cost_usd_per_t=usd_t, cost_usd_per_tkm=usd_tkm,
                         capacity_t_per_year=cap, products=prods, first_year=first,
                         last_year=last, source=source, note=note))

    rail_note = ("Rail at 0.022 USD/t-km (assumption: mid of the 1.5-2.5 RUB/t-km ≈0.017-0.028 "
                 "USD/t-km estimate for class 2-3 freight incl. wagons, from RZD2013_AR and "
                 "IPEM2014_rail) + 5 USD/t loading and forwarding per leg (assumption). ")

    def rail(o, d, km, how, both=True, prods=None):
        add(o, d, "rail", km, RAIL_USD_T, RAIL_USD_TKM, rail_note + how, prods=prods)
        if both:
            add(d, o, "rail", km, RAIL_USD_T, RAIL_USD_TKM, rail_note + how, prods=prods)

    # Tomtor: winter road to the Laptev coast, then NSR in the summer
    add("Tomtor", "Anabar_Bay", "winter_road", 400, 0, WINTER_ROAD_USD_TKM,
        "≈400 km to the Laptev coast (Wiki_Tomtor); open Dec-Apr like the Anabar winter road "
        "(Sakhapress_winterroad); the planned chain is ice roads, barges, ships, rail "
        "(SRK_TomtorRoute). Cost 0.15 USD/t-km (≈13.5 RUB) and capacity 100 kt/yr (≈25 "
        "loaded 30-t trucks a day for ≈130 days) are assumptions; opens 2030 with the mine.",
        cap=100_000, first=NSR_FIRST_YEAR, prods=TOMTOR_GOODS)
    nsr = ("NSR shipping, July-November (Sovcomflot_NSR): 20 USD/t lighterage/handling at the "
           "shallow Anabar estuary + 0.025 USD/t-km ice-class freight (assumptions); capacity "
           "120 kt/yr per lane (≈12 voyages of 10 kt in the season, assumption); distance "
           "estimated along the NSR. ")
    add("Anabar_Bay", "Dudinka", "sea", 2000, 20, NSR_USD_TKM, nsr + "West via the Vilkitsky "
        "Strait to the Yenisei.", cap=120_000, first=NSR_FIRST_YEAR, prods=TOMTOR_GOODS)
    add("Anabar_Bay", "Arkhangelsk", "sea", 3600, 20, NSR_USD_TKM, nsr + "West to the White "
        "Sea (route named by Prometall_Tomtor).", cap=120_000, first=NSR_FIRST_YEAR,
        prods=TOMTOR_GOODS)
    add("Anabar_Bay", "China", "sea", 8800, 20, NSR_USD_TKM, nsr + "East via the Bering Strait "
        "to Dalian: the raw-export lane.", cap=120_000, first=NSR_FIRST_YEAR,
        prods=TOMTOR_GOODS)
    add("Dudinka", "Krasnoyarsk", "river", 2000, 10, RIVER_USD_TKM,
        "Yenisei upstream by barge, June-October; ≈2,000 km, 10 USD/t transshipment + 0.012 "
        "USD/t-km (assumptions); no capacity limit at these volumes.", prods=TOMTOR_GOODS)
    # Lovozero concentrate to SMZ
    rail("Lovozero", "Solikamsk", 2700,
         "Revda–Olenegorsk–Volkhovstroy–Vologda–Kirov–Perm–Solikamsk ≈2,700 km (assumption).",
         both=False, prods="loparite_conc")
    rail("Arkhangelsk", "Solikamsk", 1900, "Via Konosha–Kotlas–Kirov–Perm ≈1,900 km "
         "(assumption).", both=False, prods=TOMTOR_GOODS)
    # Siberian rail triangle and links to SMZ
    rail("Novosibirsk", "Krasnoyarsk", 760, "4,065 − 3,303 km (RailDistances).")
    rail("Novosibirsk", "Tomsk", 280, "Via Taiga ≈280 km (assumption).")
    rail("Krasnoyarsk", "Tomsk", 620, "Via Taiga ≈620 km (assumption).")
    rail("Solikamsk", "Novosibirsk", 2150, "3,303 − 1,397 (RailDistances) + ≈250 km "
         "Perm–Solikamsk (estimate).")
    rail("Solikamsk", "Tomsk", 2450, "Solikamsk–Novosibirsk ≈2,150 km + ≈300 km via Taiga "
         "(assumption).")
    rail("Solikamsk", "Krasnoyarsk", 2900, "4,065 − 1,397 (RailDistances) + ≈250 km.")
    # To Moscow (domestic market, imports), St Petersburg (EU) and Vladivostok (Asia)
    rail("Solikamsk", "Moscow", 1650, "1,397 (RailDistances) + ≈250 km Perm–Solikamsk.")
    rail("Novosibirsk", "Moscow", 3303, "RailDistances.")
    rail("Tomsk", "Moscow", 3600, "≈3,303 + ≈300 km via Taiga (assumption).")
    rail("Krasnoyarsk", "Moscow", 4065, "RailDistances.")
    rail("Moscow", "St_Petersburg", 650, "≈650 km (assumption).", both=False)
    rail("Solikamsk", "St_Petersburg", 2300, "≈2,300 km (estimate, ree-facts.md).", both=False)
    rail("Solikamsk", "Vladivostok", 8100, "≈8,100 km (estimate, ree-facts.md).", both=False)
    rail("Novosibirsk", "Vladivostok", 5960, "9,259 − 3,303 ≈5,960 km (RailDistances).",
         both=False)
    rail("Tomsk", "Vladivostok", 5830, "≈5,960 − 220 + 80 km via Taiga (assumption).",
         both=False)
    rail("Krasnoyarsk", "Vladivostok", 5190, "9,259 − 4,065 ≈5,190 km (RailDistances).",
         both=False)
    # Export sea legs
    add("Vladivostok", "China", "sea", 1900, 60, 0,
        "Dry container ≈60 USD/t to Dalian: the Russian Far East quote is 74 USD/t in a reefer "
        "(FSARF2024_freight), dry boxes are cheaper (assumption). Russia-origin quote: no "
        "extra sanctions premium.")
    add("Vladivostok", "Korea", "sea", 950, 50, 0,
        "≈50 USD/t to Busan: 65 USD/t reefer (FSARF2024_freight), 40-60 USD/t dry (estimate). "
        "Russia-origin quote: no extra premium.")
    add("Vladivostok", "Japan", "sea", 1800, 65, 0,
        "≈65 USD/t to Yokohama, mid of the 50-80 USD/t estimate for Japan/Korea from "
        "Vladivostok (assumption).")
    add("Vladivostok", "USA", "sea", 8600, 200, 0,
        "Trans-Pacific ≈100 USD/t (WCI-type rates 110-140 USD/t Asia-Europe, Drewry2025_WCI) "
        "x2 Russia-linked sanctions premium (MoscowTimes2025_premium: ≈3x; assumption x2).")
    add("St_Petersburg", "EU", "sea", 2200, 120, 0,
        "Baltic feeder ≈60 USD/t (estimate 40-80 USD/t) x2 sanctions premium "
        "(MoscowTimes2025_premium; assumption) ≈120 USD/t, consistent with the 100-150 USD/t "
        "estimate for Europe.")
    add("St_Petersburg", "Sillamae", "sea", 170, 80, 0,
        "Short-sea/feeder to Sillamäe ≈40 USD/t x2 sanctions premium (assumptions).")
    return rows


# --- markets --------------------------------------------------------------------------------
def dom_price(p: str) -> float:
    return sig(P[p] * DOMESTIC_MARKUP, 2)


# Russian demand (t REO): 1,420 t in 2023 → 3,000 t in 2030 (TAdviser_REM), linear; split by use
DOMESTIC_TOTAL = {2026: 2100, 2027: 2330, 2028: 2550, 2029: 2770, None: 3000}
DOMESTIC_SPLIT = {"La_oxide": 0.31, "Ce_oxide": 0.38, "NdPr_oxide": 0.19, "SEGY_oxide": 0.11,
                  "DyTb_oxide": 0.01}
FOREIGN_SHARE = 0.10  # assumption: Russia can win at most 10 % of a foreign segment
FOREIGN_MIX = {"La_oxide": 0.25, "Ce_oxide": 0.35, "NdPr_oxide": 0.25, "DyTb_oxide": 0.01,
               "SEGY_oxide": 0.14}  # assumption: composition of REE imports by product


def markets() -> list[dict]:
    rows: list[dict] = []

    def add(market, node, product, direction, scope, price, max_t=None, year=None,
            source=A, note=""):
        rows.append(dict(market=market, node=node, product=product, direction=direction,
                         scope=scope, year=year, price_usd_per_t=price, min_t=0, max_t=max_t,
                         source=source, note=note))

    # Domestic demand at Moscow (import parity prices)
    for prod, share in DOMESTIC_SPLIT.items():
        for year, total in DOMESTIC_TOTAL.items():
            cap = rnd(total * share, 10)
            add("RU_domestic", "Moscow", prod, "sell", "domestic", dom_price(prod), cap, year,
                note=("2030+ level" if year is None else f"{year} on the ramp")
                + ": Russian REM demand 1,420 t (2023) → 3,000 t (2030) (TAdviser_REM), "
                f"linear; share {share:.0%} by use (assumption: catalysts La/Ce/Y, glass Ce, "
                "renewables Nd/Sm). Price = export price x1.1 import parity (assumption).")
    add("RU_domestic", "Moscow", "NdFeB_magnet", "sell", "domestic", dom_price("NdFeB_magnet"),
        1000, note="Domestic magnet demand ≈1,000 t/yr, the size of the planned Rusatom "
        "MetalTech magnet output (Mrchub2025_SMZcapex; assumption). Price x1.1 import parity.")
    add("RU_domestic", "Moscow", "Nb2O5", "sell", "domestic", dom_price("Nb2O5"), 3000,
        note="Russian steel ≈70 Mt x ≈40 g Nb/t ≈2.8 kt Nb ≈4 kt Nb2O5 eq., now imported "
        "(assumption); cap 3,000 t. Price x1.1 import parity on ≈26 USD/kg (FeNb-based "
        "estimate, USGS_MCS2021_Nb).")
    # Imports (buy rows) at Moscow: import parity slightly above the domestic selling price
    add("RU_imports", "Moscow", "NdPr_oxide", "buy", "import", 62000, 1000,
        note="Russia imports ≈75 % of its REM (Interfax2025_importdependence), mostly from "
        "China: 55 USD/kg fob (Fastmarkets2024) x1.1 freight ≈61 USD/kg, "
        "+≈2 % importer's margin so that imports are never re-sold at the domestic price "
        "(assumption). Cap 1,000 t/yr: all Russian RE product imports were 1,100-1,330 t/yr "
        "in 2019-20 (VIMS2021) and China licenses exports; without a cap a high export price "
        "would make buying and re-exporting unbounded (assumption).")
    add("RU_imports", "Moscow", "DyTb_oxide", "buy", "import", 510000, 50,
        note="Imports from China under MOFCOM licences since Apr 2025 (AdamasMOFCOM2025): 450 "
        "USD/kg x1.1 +≈2 % (assumption). Cap 50 t/yr, a few magnet lines' worth under "
        "licensing (assumption). Scenario dytb_import_ban closes it.")

    def foreign(market, node, total, price_factor=1.0, why="", extra=None):
        for prod, mix in FOREIGN_MIX.items():
            cap = rnd(FOREIGN_SHARE * total * mix, 5)
            add(market, node, prod, "sell", "export", sig(P[prod] * price_factor, 2), cap,
                note=f"Cap = 10 % share (assumption) x {total:,} t/yr {why} x {mix:.0%} "
                f"product mix (assumption). Price: {PRICE_NOTE[prod]}." + (extra or ""))

    # China: the price-setting market, absorbs everything at fob prices (no caps)
    china = [
        ("tomtor_ore", A, "Raw ore export lane: ≈2.75 USD/kg contained REO, below the 4.9-7.9 "
         "USD/kg REO of Baotou 50 % concentrate (Chinatungsten2022) for a low-grade, "
         "unbeneficiated ore; Nb not paid (assumption)."),
        ("carbonate_loparite", A, "Mixed carbonate 3-6 USD/kg REO (estimate); light-REE "
         "loparite feed at 4.5 USD/kg REO x 0.43 t REO/t (assumption)."),
        ("carbonate_tomtor", A, "Mixed carbonate at 5.5 USD/kg REO x 0.43 (assumption): ≈35 % "
         "of the Tomtor separated basket (≈15.8 USD/kg REO), the 25-45 % ratio of the "
         "estimate."),
        ("La_oxide", A, "China is oversupplied with La/Ce: 1.0 USD/kg (IMARC2023_Ce, weak) "
         "instead of the 2 USD/kg list price."),
        ("Ce_oxide", A, "As La: 1.0 USD/kg (IMARC2023_Ce, weak)."),
        ("NdPr_oxide", "Fastmarkets2024", "NdPr oxide 50-55 USD/kg fob China in 2024 "
         "(Fastmarkets2024); Xinglu2023 66.6 incl. 13 % VAT ≈59 ex VAT."),
        ("DyTb_oxide", A, "≈80 % Dy at ≈300 USD/kg (Argus2025_DyTb Apr 2025 250-310; "
         "Xinglu2023 ≈380) + ≈20 % Tb at ≈1,000 USD/kg (Argus2025_DyTb 930-1,000; Xinglu2023 "
         "≈1,130) ≈450 USD/kg (assumption)."),
        ("SEGY_oxide", A, "Sm/Eu/Gd/Y lump, mostly Y: 5 USD/kg (assumption; only Eu has a "
         "price in the facts, 31 USD/kg USGS_MCS2021_REE)."),
        ("NdPr_metal", "Fastmarkets2024", "NdPr metal 62-68 USD/kg fob China 2024."),
    ]
    for prod, src, why in china:
        price = 1000 if prod in ("La_oxide", "Ce_oxide") else P[prod]
        add("China", "China", prod, "sell", "export", price, None, source=src,
            note=why + " No cap: Russian volumes are small against China's 133 kt of RE "
            "imports in 2024.")
    add("China", "China", "Nb2O5", "sell", "export", P["Nb2O5"], 5000,
        note="≈26 USD/kg Nb2O5 eq. (estimate from FeNb 24 USD/kg, USGS_MCS2021_Nb). Cap "
        "assumption: Russia's Nb2O5 sales held to ≈10 % of world Nb use (≈75 kt Nb ≈107 kt "
        "Nb2O5, USGS_Nb2023), ≈5 kt of it to China, the largest consumer.")
    # Japan (10-20 kt/yr), Korea, EU, USA
    foreign("Japan", "Japan", 15000, why="Japanese REE imports (10-20 kt/yr: "
            "Metalnomist2024_Japan, Argus2023_Japan)",
            )
    add("Japan", "Japan", "NdPr_metal", "sell", "export", P["NdPr_metal"], 200,
        note="Japanese magnet makers buy metal; cap assumption.")
    add("Japan", "Japan", "Nb2O5", "sell", "export", P["Nb2O5"], 1500,
        note="Japanese steel; cap assumption (see China Nb2O5).")
    for prod, cap in (("NdPr_oxide", 2000), ("NdPr_metal", 1000)):
        add("Japan_chain", "Japan", prod, "sell", "export", sig(P[prod] * 1.10, 3), 0,
            note="Premium segment, closed in the base case (max_t 0): long-term offtake into "
            "Japanese chains seeking non-Chinese supply (Japan targets <50 % from China). +10 % "
            f"premium (assumption, kept below import parity); scenario japan_chain opens "
            f"{cap:,} t/yr.")
    foreign("Korea", "Korea", 5000, why="Korean demand proxy (KSM Metals 5-10 kt/yr metal "
            "capacity, KoreaTimes_KSM; 2,655 t imports in 2009, Bloomberg2010_Korea)")
    add("Korea", "Korea", "Nb2O5", "sell", "export", P["Nb2O5"], 1000,
        note="Korean steel; cap assumption.")
    foreign("EU", "EU", 12900, why="EU REE imports 2024 (Eurostat2024_EU)",
            extra=" Open in the base case: CRMs are not sanctioned (InvestigateEurope2023); "
            "scenario sanctions_eu_us_closed closes it (Eurotoday2026_ban).")
    add("EU", "EU", "NdPr_metal", "sell", "export", P["NdPr_metal"], 300,
        note="EU magnet makers (Neo Narva 2,000 t/yr, FDI_NeoNarva); cap assumption.")
    add("EU", "EU", "NdFeB_magnet", "sell", "export", P["NdFeB_magnet"], 2000,
        note="Cap = 10 % of 20,000 t magnets used by EU industry (ECA2026_magnets). Price 60 "
        "USD/kg: assumption in the 50-90 USD/kg range (estimate; Gitnux_NdFeB ≈85, weak).")
    add("EU_Silmet", "Sillamae", "carbonate_loparite", "sell", "export",
        P["carbonate_loparite"], 6500,
        note="SMZ → Silmet carbonate arc (70 % of Silmet feed, Quartz2022_Silmet): 5.4-6.5 kt "
        "product/yr exported in 2019-21 (VIMS2021); Silmet separates ≈3,000 t/yr "
        "(Argus2023_Silmet). Price as China (assumption). Open but at risk. No Nb2O5 row: Silmet "
        "stopped processing Nb/Ta ores (MRO2023_Silmet).")
    usd = 1 / (1 + US_DUTY)
    for prod, cap in (("La_oxide", 250), ("Ce_oxide", 400), ("NdPr_oxide", 150),
                      ("DyTb_oxide", 10)):
        add("USA", "USA", prod, "sell", "export", sig(P[prod] * usd, 2), cap,
            note="Netback after the 35 % US duty on Russian minerals/metals/chemicals "
            "(Proclamation10420; coverage of HTS 2846 not verified, assumption). Cap ≈10 % of "
            "9,500 t REO US consumption (USGS_MCS2019) by product (catalysts 75 % → La/Ce).")
    add("USA", "USA", "NdFeB_magnet", "sell", "export", sig(P["NdFeB_magnet"] * usd, 2), 1000,
        note="Netback after the 35 % duty (Proclamation10420). Cap assumption.")
    add("USA", "USA", "Nb2O5", "sell", "export", sig(P["Nb2O5"] * usd, 2), 1000,
        note="Netback after the 35 % duty (Proclamation10420). Cap assumption.")
    return rows


# --- policy: neutral rows for every lever the scenarios move ------------------------------
def policy() -> list[dict]:
    def row(instrument, target, value, note, source=A):
        return dict(instrument=instrument, target=target, year=None, value=value,
                    source=source, note=note)

    return [
        row("export_duty_rate", None, 0, "No general export duty on RE products: the 2023-24 "
            "RUB-linked 0-7 % duty list did not name RE products (TASS2023_exportduty). Lever "
            "for scenario duty_fx_linked_7.", source="TASS2023_exportduty"),
        row("export_duty_rate", "stage<=1", 0, "Ore and concentrate: no duty in the base "
            "case. Lever for scenario ore_export_duty_30."),
        row("export_duty_rate", "stage<=2", 0, "Ore, concentrate and mixed compounds "
            "(carbonate, the 'collective concentrate' SMZ exports): no duty. Lever for "
            "concentrate_export_duty_30."),
        row("import_duty_rate", None, 0, "No import duty on RE imports (assumption). Lever for "
            "scenario import_duty_10."),
        row("export_quota_t", "stage<=2", None, "Blank = no quota. Lever for "
            "concentrate_export_ban (quota 0)."),
        row("processing_subsidy_usd_per_activity", "sep_loparite", 0, "Lever for "
            "processing_subsidy (USD per t REO separated)."),
        row("processing_subsidy_usd_per_activity", "sep_tomtor", 0, "Lever for "
            "processing_subsidy (USD per t REO separated)."),
        row("processing_subsidy_usd_per_activity", "ndpr_metal", 0, "Lever for "
            "processing_subsidy (USD per t oxide to metal)."),
        row("processing_subsidy_usd_per_activity", "magnet_making", 0, "Lever for "
            "processing_subsidy (USD per t magnet)."),
        row("capex_relief_rate", "technopark", 0, "Lever for technopark_capex_relief."),
        row("capex_relief_rate", "mine", 0, "Lever for mine_capex_relief (SPIC-type support "
            "for Tomtor)."),
        row("min_domestic_processing_share", "3", 0, "Lever for domestic_processing_50: share "
            "of REO sold that must be stage >= 3 or sold at home."),
        row("investment_budget_musd", None, None, "Blank = no budget over the horizon. Lever "
            "for sweeps, e.g. --set \"Policy|investment_budget_musd||:value=300:1500:5\"."),
    ]


# --- scenarios ------------------------------------------------------------------------------
def scenarios() -> list[dict]:
    rows: list[dict] = []

    def add(scenario, sheet, key, column, value=None, factor=None, note="", source=A):
        rows.append(dict(scenario=scenario, sheet=sheet, key=key, column=column, value=value,
                         factor=factor, source=source, note=note))

    add("concentrate_export_duty_30", "Policy", "export_duty_rate|stage<=2|", "value", 0.3,
        note="30 % export duty on ore, concentrate and mixed carbonate ('raw' exports, stage "
        "<= 2) to deepen processing at home (policy option; rate is an assumption).")
    add("ore_export_duty_30", "Policy", "export_duty_rate|stage<=1|", "value", 0.3,
        note="30 % duty on ore and concentrate only (carbonate exports stay free).")
    add("concentrate_export_ban", "Policy", "export_quota_t|stage<=2|", "value", 0,
        note="Export quota 0 on stage <= 2: no raw exports at all.")
    add("duty_fx_linked_7", "Policy", "export_duty_rate||", "value", 0.07,
        note="The 2023-24 RUB-linked duty at its top band (7 %) extended to all RE exports "
        "(TASS2023_exportduty: 'treat as 0-7 % scenario').", source="TASS2023_exportduty")
    add("duty_fx_linked_7_raw_30", "Policy", "export_duty_rate||", "value", 0.07,
        note="Duty regime for robust runs: 7 % on all exports ...")
    add("duty_fx_linked_7_raw_30", "Policy", "export_duty_rate|stage<=2|", "value", 0.3,
        note="... and 30 % on raw exports (the highest rate applies).")
    add("import_duty_10", "Policy", "import_duty_rate||", "value", 0.1,
        note="10 % duty on RE imports (protects domestic producers; assumption).")
    for proc, v, unit in (("sep_loparite", 2000, "t REO separated"),
                          ("sep_tomtor", 2000, "t REO separated"),
                          ("ndpr_metal", 2000, "t oxide to metal"),
                          ("magnet_making", 5000, "t magnet")):
        add("processing_subsidy", "Policy", f"processing_subsidy_usd_per_activity|{proc}|",
            "value", v, note=f"China-style per-tonne processing compensation: {v:,} USD per "
            f"{unit} (assumption: ≈40 % of the separation opex, ≈3 % of the magnet price).")
    add("technopark_capex_relief", "Policy", "capex_relief_rate|technopark|", "value", 0.3,
        note="30 % of capex at technoparks paid by the state (localisation incentive; "
        "assumption).")
    add("mine_capex_relief", "Policy", "capex_relief_rate|mine|", "value", 0.3,
        note="30 % capex relief for mines (SPIC-type agreement for Tomtor; assumption).")
    add("domestic_processing_50", "Policy", "min_domestic_processing_share|3|", "value", 0.5,
        note="At least 50 % of the REO sold must be separated (stage >= 3) or sold at home.")
    for prod, cap in (("NdPr_oxide", 2000), ("NdPr_metal", 1000)):
        add("japan_chain", "Markets", f"Japan_chain|{prod}|sell|export|", "max_t", cap,
            note=f"Open the Japanese-chain premium segment: {cap:,} t/yr at +10 % (assumption: "
            "about half the NdPr content of 15 kt/yr of Japanese REE imports).")
    for market in ("EU", "EU_Silmet", "USA"):
        add("sanctions_eu_us_closed", "Markets", f"{market}|*|sell|export|*", "max_t", 0,
            note="EU and US close to Russian RE products (proposed EU ban, Eurotoday2026_ban; "
            "US 35 % duty or ban, Proclamation10420).", source="Eurotoday2026_ban")
    for tag, f_ox, f_mag, why in (
        ("ndpr_price_high", 1.5, 1.15, "≈82 USD/kg NdPr oxide, between 2023 (Xinglu2023 ≈67) "
         "and the 2022 peak (SMM2022 ≈140)"),
        ("ndpr_price_low", 0.75, 0.92, "≈41 USD/kg NdPr oxide, the Nov 2019 level (SMM2019 "
         "≈40)"),
    ):
        for prod in ("NdPr_oxide", "NdPr_metal"):
            add(tag, "Markets", f"*|{prod}|*|*|*", "price_usd_per_t", factor=f_ox,
                note=f"NdPr price x{f_ox}: {why}.")
        add(tag, "Markets", "*|NdFeB_magnet|*|*|*", "price_usd_per_t", factor=f_mag,
            note="Magnet price moves with its NdPr content (0.37 t oxide per t magnet).")
    add("dytb_price_spike", "Markets", "*|DyTb_oxide|*|*|*", "price_usd_per_t", factor=2.5,
        note="Ex-China Dy/Tb spike after China's Apr 2025 licensing (Argus2025_DyTb: Dy 250-310 "
        "→ 700-1,000, Tb 930-1,000 → 2,000-4,000 USD/kg).", source="Argus2025_DyTb")
    add("dytb_import_ban", "Markets", "RU_imports|DyTb_oxide|buy|import|", "max_t", 0,
        note="China stops licensing Dy/Tb exports to Russia (AdamasMOFCOM2025).",
        source="AdamasMOFCOM2025")
    add("smz_cracking_at_recent_output", "NodeProcesses", "Solikamsk|loparite_cracking|",
        "existing_capacity", 8800,
        note="SMZ cracking limited to ≈2.5 kt REO/yr (2.3-2.6 kt made in 2019-21, VIMS2021) "
        "= 8,800 t concentrate, instead of the 13,000 t shop capacity (Student2_SMZ).",
        source="VIMS2021")
    add("winter_road_late", "Routes", "Tomtor|Anabar_Bay|winter_road", "first_year",
        NSR_FIRST_YEAR + 2, note="Tomtor winter road opens two years late (2032).")
    for r in [r for r in rows if r["scenario"] == "ndpr_price_high"]:
        rows.append({**r, "scenario": "ndpr_price_high_winter_road_late"})
    add("ndpr_price_high_winter_road_late", "Routes", "Tomtor|Anabar_Bay|winter_road",
        "first_year", NSR_FIRST_YEAR + 2,
        note="winter_road_late on top of ndpr_price_high (where Tomtor is developed).")
    add("ndpi_full_rate", "Deposits", "Tomtor_Buranny", "extraction_tax_usd_per_t", 67,
        note="No K_rm relief: 4.8 % x 3.5 on ≈400 USD/t ore.")
    add("domestic_demand_7500", "Markets", "RU_domestic|*|sell|domestic|*", "max_t", factor=2.5,
        note="Domestic demand stimulated (wind turbines, EV motors) to the 7,500 t/yr "
        "production target (TAdviser_REM) instead of 3,000.", source="TAdviser_REM")
    return rows


README_TEXT = [
    "optmodel base case: the Russian rare-earth value chain (default data set).",
    "Generated by inputs/build_base_case.py; do not edit by hand, edit the script and rerun "
    "it. Explained in docs/base_case.md.",
    "",
    "Chain: Tomtor ore (direct shipping, 14.5 % TREO, 6 % Nb2O5) and Lovozero loparite "
    "concentrate (30 % REO) → mixed RE carbonate (+ Nb2O5) → separated oxides (La, Ce, NdPr, "
    "DyTb, SEGY = Sm/Eu/Gd/Y/others) → NdPr metal → NdFeB magnets.",
    "Existing: Lovozero 9.5 kt/yr concentrate, SMZ cracking 13 kt/yr concentrate, SMZ "
    "separation 2,600 t REO/yr from 2027 (committed).",
    "Candidates: Tomtor mine (2 x 80 kt ore/yr), Tomtor ore cracking at Tomtor, Krasnoyarsk, "
    "Tomsk or Solikamsk, separation, metal and magnet plants at the Siberian technoparks "
    "(Novosibirsk, Tomsk, Krasnoyarsk) and Solikamsk, SMZ and Lovozero expansions.",
    "Logistics: Tomtor → Anabar Bay by winter road (Dec-Apr, 100 kt/yr) → Northern Sea Route "
    "(Jul-Nov) to Dudinka (Yenisei → Krasnoyarsk), Arkhangelsk (rail → Solikamsk) or China; "
    "rail 0.022 USD/t-km; sea from Vladivostok (Asia, USA) and St Petersburg (EU, Silmet).",
    "Markets: domestic (Moscow, 2,100 t REO in 2026 → 3,000 t from 2030, import-parity "
    "prices), China (uncapped, fob prices), Japan, Korea, EU, USA (caps = 10 % of the "
    "destination's imports), Silmet carbonate; premium segment Japan_chain closed (max_t 0).",
    "Prices (USD/kg): NdPr oxide 55, NdPr metal 65, Dy/Tb 450, La/Ce 2 (1 in China), "
    "magnets 60, Nb2O5 26, carbonate 4.5-5.5 per kg REO.",
    "Policy rows are neutral (0 or blank) so that scenarios can move them; see the "
    "Scenarios sheet.",
    "Units: t, USD/t, MUSD; constant 2024 USD; real discount rate 10 %.",
    "source column: a Sources row (comma list) or 'assumption' with the reasoning in note.",
]


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------
def frame(sheet: str, rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame with exactly the schema's columns, in schema order."""
    cols = list(dict.fromkeys(SHEETS[sheet].column_names))
    for r in rows:
        unknown = set(r) - set(cols)
        if unknown:
            raise ValueError(f"{sheet}: unknown columns {sorted(unknown)}")
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    return df.astype(object).where(df.notna(), None)


def tables() -> dict[str, pd.DataFrame]:
    sources = pd.DataFrame(
        [dict(source=s, reference=ref, year=y) for s, ref, y in SOURCES],
        columns=["source", "reference", "year"],
    )
    return {
        "Settings": frame("Settings", settings()),
        "Nodes": frame("Nodes", nodes()),
        "Products": frame("Products", products()),
        "Processes": frame("Processes", processes()),
        "Recipes": frame("Recipes", recipes()),
        "NodeProcesses": frame("NodeProcesses", node_processes()),
        "BuildOptions": frame("BuildOptions", build_options()),
        "Deposits": frame("Deposits", deposits()),
        "Routes": frame("Routes", routes()),
        "Markets": frame("Markets", markets()),
        "Policy": frame("Policy", policy()),
        "Scenarios": frame("Scenarios", scenarios()),
        "Sources": sources,
    }


def check_sources(tabs: dict[str, pd.DataFrame]) -> None:
    """Fail loudly if a row has no source or names an unknown Sources row."""
    for name, df in tabs.items():
        if name == "Sources":
            continue
        for i, s in enumerate(df["source"].tolist(), start=2):
            if not s:
                raise ValueError(f"{name} row {i}: blank source")
            if s == A:
                continue
            missing = [x.strip() for x in s.split(",") if x.strip() not in SOURCE_IDS]
            if missing:
                raise ValueError(f"{name} row {i}: unknown source(s) {missing}")


def sheet_specs(tabs: dict[str, pd.DataFrame]) -> list[SheetSpec]:
    specs = [SheetSpec("README", pd.DataFrame({"README": README_TEXT}), widths={"README": 120},
                       wrap_columns=["README"], autofilter=False)]
    for name, df in tabs.items():
        sch = SHEETS[name]
        comments = {}
        for c in sch.all_columns:
            if c.name in df.columns and c.name not in comments:
                unit = f" [{c.unit}]" if c.unit else ""
                comments[c.name] = f"{c.description}{unit}"
        validations = {c.name: list(c.choices) for c in sch.columns if c.kind == "enum"}
        widths = {c: 60 for c in ("note", "reference") if c in df.columns}
        specs.append(SheetSpec(
            name, df,
            required_columns=[c.name for c in sch.columns if c.required],
            comments=comments, validations=validations, widths=widths,
        ))
    return specs


def build(out: Path = DEFAULT_OUT) -> Path:
    tabs = tables()
    check_sources(tabs)
    write_workbook(Path(out), sheet_specs(tabs), title="optmodel base case")
    return Path(out)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(f"wrote {build(target)}")
