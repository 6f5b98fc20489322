"""Build the default data set ``inputs/base_case.xlsx`` (the Russian rare-earth base case).

Run from the repository root::

    python inputs/build_base_case.py            # writes inputs/base_case.xlsx and the counts
                                                # in docs/base_case.md
    python inputs/build_base_case.py OUT.xlsx   # writes elsewhere (docs untouched)

Every figure below carries its origin: short ids from ``SOURCES`` (public documents, listed
on the Sources sheet with their addresses) or the word ``assumption`` with the reasoning in
``note``.  The convention: a row names its sources when its deciding figure comes from them
(a unit conversion, an ex-VAT or exchange-rate step, or a stated split of a sourced total
may sit between); any judgement on top is named in the note.  A row whose deciding figure
is a judgement is ``assumption``; its note names the sources it leans on.  The script is
deterministic: the same code writes the same cell values.

Conversions: CNY/USD 7.1, RUB/USD 90; Chinese domestic prices include 13 % VAT and are
taken ex-VAT.  Prices are constant 2025-26 USD (the price deck of late 2025 / early 2026),
except magnets (2024 basis, see ``P``).

``DEMAND_SIDE`` switches on the rows that use the demand-side features of MODEL.md §2.1 and
§3.1 (price-response markets, domestic demand support, the stage-6 wind-generator chain).
With it False the workbook validates with a validator that does not know those columns yet.

The data are explained for planners in docs/base_case.md.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pandas as pd

# Demand side (MODEL.md §2.1): price-response markets (elasticity, market_size_t), the
# domestic_demand_support_usd_per_t lever, the stage-6 wind-generator chain and the
# demand_stimulation scenario.  Flip to True once the validator knows these columns.
DEMAND_SIDE = True

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow "python inputs/build_base_case.py" from a checkout
    sys.path.insert(0, str(ROOT))

from optmodel.io.write import SheetSpec, write_workbook  # noqa: E402
from optmodel.schema import SHEETS  # noqa: E402

DEFAULT_OUT = ROOT / "inputs" / "base_case.xlsx"
DOCS = ROOT / "docs" / "base_case.md"
A = "assumption"

FIRST_YEAR = 2026
LAST_YEAR = 2040
CNY_PER_USD = 7.1
RUB_PER_USD = 90
VAT_CN = 1.13


def sig(x: float, digits: int = 2) -> float:
    """Round to ``digits`` significant figures (never claim more precision than the data)."""
    if x == 0:
        return 0
    v = round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return int(v) if float(v).is_integer() else v


def rnd(x: float, step: float) -> float:
    """Round to a multiple of ``step``; integers come back as int."""
    v = math.floor(x / step + 0.5) * step
    return int(v) if float(v).is_integer() else v


def cn_ex_vat(cny_per_t: float) -> float:
    """A Chinese domestic price incl. VAT in CNY/t as USD/t ex-VAT."""
    return cny_per_t / VAT_CN / CNY_PER_USD


# ---------------------------------------------------------------------------
# Sources: short id -> (reference: title, date, address; year)
# ---------------------------------------------------------------------------
SOURCES: list[tuple[str, str, int]] = [
    # --- Tomtor
    ("Polymetal2021_TomtorReserve",
     'Polymetal RNS "Tomtor initial Ore Reserve estimate" (JORC, 31 Dec 2019: 11.4 Mt @ 14.5 % '
     "TREO incl. 2.8 % NdPr oxides, 6.0 % Nb2O5), 19 Apr 2021, lse.co.uk; SRK "
     "https://srk.com/en/projects/tomtor-resource-reserve-estimation", 2021),
    ("Polymetal2020_TomtorResource",
     'Polymetal RNS "Tomtor initial Mineral Resource estimate" (13.2 Mt @ 15.0 % REO, 5.9 % '
     "Nb2O5), 7 Sep 2020, lse.co.uk / regulatorynews.co.uk", 2020),
    ("GKZ_TomtorProtocol",
     "State reserves committee (GKZ) protocol for Tomtor, B+C1 at a 3.5 % Nb2O5 cut-off: "
     "6,889 kt dry ore, REE oxides 13.53 %, Nb2O5 6.92 %, Y2O3 0.64 %, Sc2O3 0.051 %, ThO2 "
     "0.13 %, UO3 0.015 %, http://dereksiz.org/obshie-svedeniya-o-rajone-mestorojdeniya/"
     "dereksiz.org/obshie-svedeniya-o-rajone-mestorojdeniya.html?page=2", 2019),
    ("Reuters2021_Tomtor",
     "Reuters, Polymetal Tomtor reserve: plant 160,000 t/yr dry ore, 19 Apr 2021, "
     "https://www.reuters.com/article/russia-rareearths-tomtor-idUKL8N2MC1ZL", 2021),
    ("Wiki_Tomtor",
     'Russian Wikipedia "Томтор (месторождение)" (mirror): location 71°03\'N 116°33\'E; 400 km '
     "to the Laptev Sea; 160 kt/yr planned output, https://kampuspedia.com/ru/"
     "%D0%A2%D0%BE%D0%BC%D1%82%D0%BE%D1%80_(%D0%BC%D0%B5%D1%81%D1%82%D0%BE%D1%80%D0%BE%D0%B6"
     "%D0%B4%D0%B5%D0%BD%D0%B8%D0%B5)", 2024),
    ("Kommersant2025_Tomtor",
     "Kommersant, Rosneft takes 100 % of Vostok Engineering (Tomtor), investment 150–200 bn "
     "RUB, 20 May 2025, https://www.kommersant.ru/doc/7737605", 2025),
    ("TASS2025_Rosneft",
     "TASS, Rosneft becomes 100 % owner of Vostok Engineering, the Tomtor licence holder, "
     "15 Oct 2025, https://tass.ru/ekonomika/25345195", 2025),
    ("Roskill2018",
     'Roskill news "Russia puts its weight behind rare earths" (Tomtor >1.3 bn USD; SMZ '
     "exports ≈6,000 t to Silmet), 2018, roskill.com", 2018),
    ("Malkova2019_Tomtor",
     "Malkova, Zadiranov et al., E3S Web of Conferences (Tomtor ore cannot be enriched by "
     "traditional methods; pyro + hydro route), 2019 (abstract via ouci.dntb.gov.ua)", 2019),
    ("SRK_TomtorRoute",
     "SRK Consulting project page, Tomtor (ore route: ice roads, barges, ships, rail to "
     "Krasnokamensk), https://srk.com/en/projects/tomtor-resource-reserve-estimation", 2021),
    ("MGR2024_scandium",
     "marketgrowthreports.com, Scandium metal market: Sc2O3 99.99 % 3,500–4,800 USD/kg in "
     "2024, demand ≈40 t/yr, 15–20 t/yr produced in pure form (weak aggregator), "
     "https://marketgrowthreports.com/market-reports/scandium-metal-market-114931", 2025),
    # --- Lovozero and Solikamsk
    ("Wiki_Lovozero",
     'Russian Wikipedia "Ловозерское месторождение" (mirror perceptiofr.com): 2,653.1 kt REO '
     "A+B+C1 at 1 Jan 2019, 1.12 % TREO", 2019),
    ("VIMS2021",
     "VIMS, State report on mineral resources of the Russian Federation 2021, rare earths "
     "(Lovozero concentrate 9.5/8.8/7.7 kt in 2019/20/21; SMZ RE products 2.62/2.62/2.33 kt "
     "TR2O3; exports 6,178/6,454/5,391 t; imports 1,326/1,102 t), "
     "https://gd2021.data-geo.ru/nfm/tr/", 2022),
    ("Prometall2025_LGOK",
     "Informine/prometall.info, Lovozersky GOK: SMZ received 13 % less feed by rail in 2024 "
     "than in 2023, https://www.prometall.info/corp/drugie/"
     "lovozerskiy_gok_optimizm_na_fone_snizheniya_dobychi", 2025),
    ("Murmantv_LGOK12kt",
     "Murman TV (Minpromtorg/RIA): Lovozersky GOK to raise output to 12,000 t by 2030, "
     "https://murmantv.ru/news-n-36716--lovozerskij-gok-uvelichit-dobychu-redkozemelnyh-"
     "metallov-v-murmanskoj-oblasti-do-12-tysyach-tonn", 2025),
    ("Sdelanounas2025_LGOK",
     "sdelanounas.ru, Lovozersky GOK: 12,000 t/yr loparite concentrate by 2030 and three new "
     "stoping blocks commissioned in 2025, https://sdelanounas.ru/blogs/172016/", 2025),
    ("Hedrick1997_Loparite",
     'Hedrick, Sinha, Kosynkin, "Loparite, a rare-earth ore", Journal of Alloys and '
     "Compounds 250 (1997): concentrate ≈30 % REO, https://www.usgs.gov/publications/"
     "loparite-rare-earth-ore-ce-na-sr-cati-nb-ta-fe3o3", 1997),
    ("Student2_Nb",
     'student2.ru "Добыча и переработка ниобиевого сырья": loparite concentrate specification '
     "not less than 8 % Nb2O5 (at 90 % loparite), "
     "https://student2.ru/proizvodstvo/621459-dobycha-i-pererabotka-niobievogo-syrya", 2015),
    ("Student2_SMZ",
     'student2.ru "ОАО Соликамский магниевый завод": rare-metal shop no. 7, ≈13,000 t/yr '
     "loparite concentrate, chlorination, https://student2.ru/proizvodstvo/"
     "622938-oao-solikamskiy-magnievyy-zavod", 2015),
    ("RIA2025_SMZseparation",
     "RIA Novosti via 1prime.ru, Minister Kozlov: SMZ separation complex 2,500 t/yr La, Ce, Nd, "
     "Pr oxides from 2027, 29 Dec 2025, https://1prime.ru/20251229/kompleks-866013425.html",
     2025),
    ("Ura2025_SMZcapex",
     "ura.news, SMZ separation complex ≈7 bn RUB, https://ura.news/news/1052995937", 2025),
    ("Mrchub2025_SMZcapex",
     "mrchub.com (Rosatom/SMZ statement), SMZ separation plant 7 bn RUB (≈71.5 M USD), online "
     "2027, feeds up to 1,000 t/yr magnets at Rusatom MetalTech by 2028, 24 Jan 2025", 2025),
    ("Prometall2025_SMZ_SEG",
     "prometall.info, SMZ to separate Ce, La, Nd, Pr and an SEG (Sm-Eu-Gd) concentrate from "
     "end-2026, https://www.prometall.info/novosti/"
     "na_smz_nachnut_razdelyat_redkie_zemli_s_kontsa_2026_goda", 2025),
    ("Kommersant2015_SMZ", "Kommersant: SMZ separation 3,600 t/yr and LGOK to 12 kt/yr, 6–7 bn "
     "RUB, 2015, https://kommersant.ru/amp/2730196", 2015),
    ("MP2021_10K",
     "MP Materials Form 10-K FY2021 (Mountain Pass distribution Ce 50.2, La 32.3, NdPr 15.7 %), "
     "content.edgar-online.com", 2022),
    # --- Glazov magnet plant
    ("Magnetconf2024_Glazov",
     "magnetconf.ru, Rosatom and Minpromtorg sign a special investment contract (SPIC) for a "
     "1,000 t/yr rare-earth magnet plant in Glazov, 14 Feb 2024; the output is enough to "
     "almost fully meet current domestic needs, https://magnetconf.ru/tpost/"
     "ty2cpixd31-rosatom-and-the-russian-ministry-of-indu", 2024),
    ("ABN2024_Glazov",
     "ABN agency, Rosatom to invest 3.6 bn RUB in magnet production (Glazov) to 2030, "
     "27 Mar 2024, https://abn.agency/2024/03/27/rosatom-vlozhit-36-mlrd-rublej-v-proizvodstvo-"
     "magnitov", 2024),
    ("Mforum2025_SMZGlazov",
     "mforum.ru, SMZ agrees to supply Nd and Pr to Rosatom's magnet production, 9 Dec 2025, "
     "https://www.mforum.ru/news/article/128620.htm", 2025),
    # --- Prices
    ("Adamas2024_magnets",
     "Adamas Intelligence, record rare-earth magnet exports from China in 2024: 58,152 t "
     "worth US$2.86 bn (49.2 USD/kg), https://www.adamasintel.com/"
     "record-rare-earth-magnet-exports-from-china-in-2024/", 2025),
    ("Metalnomist2024_magnets",
     "metalnomist.com, China's magnet exports Jan–Aug 2024 average 51.4 USD/kg, Aug 2024 47.0, "
     "https://metalnomist.com/2024/10/chinas-rare-earth-magnet-exports-surge.html", 2024),
    ("Fastmarkets2024",
     "Fastmarkets, China rare earth prices (NdPr oxide 50–55 USD/kg fob China; NdPr metal "
     "62–68 USD/kg; Nd/Pr oxide cif Rotterdam 53–55), 18 Apr and 20 Jun 2024, "
     "https://www.fastmarkets.com/?p=57207", 2024),
    ("SMM2025_Mar",
     "SMM morning meeting summary 10 Mar 2025: Pr-Nd oxide 439–445 kCNY/t, Pr-Nd alloy "
     "538–545 kCNY/t (incl. VAT), https://news.metal.com/newscontent/103215484/"
     "[SMM-Rare-Earth-Morning-Meeting-Summary]-Oxide-Prices-Drop-Back-Slightly-Market-"
     "Transactions-Remain-Sparse", 2025),
    ("SMM2025_Dec",
     "SMM rare earth weekly review 25 Dec 2025: Pr-Nd oxide 592–595 kCNY/t (incl. VAT), "
     "https://news.metal.com/newscontent/103690800/Pr-Nd-Prices-Rose-Significantly-Medium-"
     "Heavy-Rare-Earth-in-the-Doldrums-[SMM-Rare-Earth-Weekly-Review]", 2025),
    ("SMM2026_Jan",
     "SMM rare earth weekly review 22 Jan 2026: Pr-Nd oxide 670–675 kCNY/t, Gd oxide 178–182 "
     "kCNY/t (incl. VAT), https://news.metal.com/newscontent/103734160-market-sentiment-"
     "returns-to-rationality-rare-earth-prices-fluctuate-rangebound-smm-rare-earth-weekly-"
     "review", 2026),
    ("SMM2025_DyTb",
     "SMM rare earth reviews 2025: Dy oxide 1.33–1.72 M CNY/t, Tb oxide 6.0–7.15 M CNY/t "
     "(incl. VAT), 16 Jun 2025, https://news.metal.com/newscontent/103376387/", 2025),
    ("SMM2025_LaCe",
     "SMM weekly review 2025: La oxide 4,200–4,700 CNY/t, Ce oxide 11,000–13,000 CNY/t "
     "(incl. VAT), https://news.metal.com/newscontent/103224321/Oxide-Prices-Fluctuate-Upward-"
     "as-Low-Priced-Supplies-Tighten-in-the-Market-[SMM-Weekly-Review]", 2025),
    ("SMM2025_Y",
     "SMM rare earth daily review 13 Mar 2025: Y oxide 55–57 kCNY/t (incl. VAT); NdFeB blanks "
     "N38(Ce) 145–155 CNY/kg, news.metal.com", 2025),
    ("SMM_overseas_Dec2025",
     "SMM rare earth overseas weekly review, Dec 2025: Nd oxide fob 116–136 USD/kg, cif "
     "Rotterdam 165–185; Dy oxide fob, https://news.metal.com/newscontent/103692906/"
     "American-Rare-Earths-Resumes-Exploration-of-Rare-Earth-Elements-Asia-Accelerates-"
     "Investment-in-Vietnams-Rare-Earth-Industry-[SMM-Rare-Earth-Overseas-Weekly-Review]", 2025),
    ("SMM_overseas_Jan2026",
     "SMM rare earth overseas weekly review, Jan 2026: Nd oxide fob 128–148 USD/kg, cif "
     "Rotterdam 180–200; Dy oxide fob 267–311 (Dec 2025–Jan 2026); La oxide fob 870–930 "
     "USD/t; Ce oxide fob 1.68–1.76 USD/kg, cif Rotterdam 2.33, https://news.metal.com/"
     "newscontent/103724941/the-us-continues-to-strengthen-efforts-through-multiple-measures-"
     "g7-re-discusses-reducing-rare-earth-supply-from-china-s", 2026),
    ("Cnyes2026_Baotou",
     "cnyes.com: Baotou exchange 9 Jan 2026 Pr-Nd oxide 624.9 kCNY/t, Pr-Nd metal 760.7 "
     "kCNY/t (incl. VAT); Northern Rare Earth concentrate (50 % REO, dry, ex-VAT) 26,834 CNY/t "
     "for Q1 2026, https://news.cnyes.com/news/id/6306645", 2026),
    ("Gubit2024_NREconc",
     "gubit.cn, Northern Rare Earth / Baotou Steel concentrate (50 % REO, dry, ex-VAT) 16,741 "
     "CNY/t for Q3 2024, http://ddx.gubit.cn/fenxi/600111/202407091936.html", 2024),
    ("Chinatungsten2022",
     "chinatungsten news: Baotou RE concentrate (REO 50–51 %) 26,887 CNY/t 2022, 16,269 CNY/t "
     "2021, 10 Jan 2022", 2022),
    ("Argus2025_DyTb",
     "Argus via gmteight.com: Dy oxide Europe 250–310 → 700–1,000 USD/kg, Tb oxide 930–1,000 → "
     "2,000–4,000 USD/kg, Apr → May 2025, 9 May 2025", 2025),
    ("USGS_MCS2021_REE",
     "USGS Mineral Commodity Summaries 2021, Rare earths (Eu oxide 31 USD/kg 2020; US "
     "consumption 7,800 t REO 2020)", 2021),
    ("Argus2025_Ta2O5",
     "Argus, China Ta2O5 99.5 % 1,790–1,810 CNY/kg, 8 Apr 2025, https://www.argusmedia.com/"
     "metals-platform/newsandanalysis/article/2678145-China-Ta2O5-to-extend-rise-on-higher-"
     "costs--firm-demand", 2025),
    ("Argus2024_columbite",
     "Argus viewpoint, Nb columbite averaged 18.20 USD/lb cif in 2024 (5-yr average 14.50), "
     "https://argusmedia.com/en/news-and-insights/latest-market-news/"
     "2643254-viewpoint-strong-fundamentals-to-support-nb-columbite", 2025),
    ("Metalnomist2025_Nb",
     "metalnomist.com, 50 % Nb concentrate 19–20 USD/lb cif, Feb 2024, "
     "https://www.metalnomist.com/2025/05/china-discovers-major-niobium-deposit.html", 2025),
    ("Argus2020_FeNb",
     "Argus, US ferroniobium 17.35–18.10 USD/lb Nb, Jan 2020, https://argusmedia.com/en/"
     "news-and-insights/latest-market-news/2078382-drop-in-china-fenb-imports-may-spark-us-"
     "oversupply", 2020),
    ("USGS_MCS2021_Nb",
     "USGS Mineral Commodity Summaries 2021, Niobium: ferroniobium unit value 20–24 USD/kg "
     "(2016–20); steels ≈81 %, superalloys ≈19 % of US use; Russia 19 % of US niobium-oxide "
     "imports 2016–19, https://docslib.org/doc/5267870/mcs2021-niobium-pdf", 2021),
    ("MMTA_Nb",
     "MMTA, Time to take notice of niobium: ≈75,000 t/yr use, steel close to 90 %, pricing "
     "remarkably stable, https://mmta.co.uk/time-to-take-notice-of-niobium/", 2024),
    ("Cyberleninka_Nb",
     "cyberleninka.ru, Добыча ниобия в России (Tatarskoye pyrochlore, ferroniobium at the "
     "Klyuchevsky ferroalloy works), http://cyberleninka.ru/article/n/dobycha-niobiya-v-rossii",
     2015),
    ("USGS_Nb2023", "USGS via mining.com.au (hepingpai.com): world Nb mine production 83,000 t "
     "2023, https://hepingpai.com/news/niobium-a-metal-of-the-future-miningcomau.htm", 2024),
    # --- Demand and markets
    ("TAdviser_REM",
     'TAdviser "Rare earth metals in Russia" (Minpromtorg): 1,420 t REM consumed 2023 (830 t '
     "catalysts, 200 t renewables, 100 t glass/optics), 3,000 t demand target 2030", 2024),
    ("JapanMetalDaily2022",
     "Japan Metal Daily (Japan Society of Newer Metals): Japanese rare-earth demand 16,039 t "
     "in 2022, https://www.japanmetaldaily.com/articles/-/125054", 2023),
    ("Metalnomist2024_Japan",
     "metalnomist.com, Japan RE imports 9,898 t (metal equivalent) in H1 2024, China 79.6 %, "
     "https://metalnomist.com/2024/08/japans-growing-reliance-on-china-for.html", 2024),
    ("KITA2022_Korea",
     "Asia Economy (KITA data): Korean NdFeB magnet imports US$394.5 M in Jan–Sep 2022, "
     "US$343.8 M of it from China, https://cm.asiae.co.kr/en/article/2022102408554268431",
     2022),
    ("KoreaTimes_KSM", "Korea Times, KSM Metals (Ochang) RE metals capacity 5,000–10,000 t/yr, "
     "2023", 2023),
    ("Eurostat2024_EU",
     "Eurostat via energetskiportal.com / WAM 12 Apr 2025: EU REE imports 12,900 t 2024 "
     "(Russia 3,700 t)", 2025),
    ("ECA2026_magnets", "European Court of Auditors via plataformamedia.com: EU industry used "
     "20,000 t permanent magnets in 2024 (17,000 t from China), Feb 2026", 2026),
    ("USGS_MCS2019", "USGS Mineral Commodity Summaries 2019, Rare earths (US apparent "
     "consumption 9,500 t REO 2018)", 2019),
    ("USGS_MCS2025_REE", "USGS Mineral Commodity Summaries 2025 (via alixyz.eu / upstx): world "
     "mine production 390,000 t REO in 2024, China 270,000, Russia 2,500", 2025),
    ("Reuters2025_ChinaImports", "Reuters (via newsfromrss): China's rare-earth imports "
     "132,931 t in 2024", 2025),
    ("Adamas2023_NdFeB", "Adamas Intelligence via GreenCarCongress, 6 May 2023: NdFeB demand "
     "≈246,000 t in 2022, CAGR 7.5 % to 2040", 2023),
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
    ("Jamestown2026", 'Jamestown Foundation EDM "Russia Struggling to Resist PRC Rare Earth '
     'Dominance": China offers Russia no preferential treatment under its export licensing, '
     "Feb 2026", 2026),
    # --- Wind generators (stage 6)
    ("Rawi2019_NovaWind",
     "RAWI interview with NovaWind's director general: SPIC (Feb 2019) for localised "
     "production of wind-turbine components incl. generators in Volgodonsk, 580 sets, 955 M "
     "RUB, https://rawi.ru/2019/09/alexander-korchagin-we-localise-not-only-the-production-of-"
     "components-and-wind-turbines-we-localise-industry-competencies/", 2019),
    ("RosatomMENA_magnets",
     "Rosatom: TVEL's Elemash Magnet supplies over 200 sets of rare-earth magnets to Red Wind, "
     "one set per wind generator, https://rosatom-mena.com/ae/press-centre/news/18116/", 2020),
    ("Interfax2024_NovaWind",
     "Interfax, 8 Jul 2024: NovaWind (Rosatom) portfolio ≈1.7 GW, 1 GW operating, "
     "https://interfax.com/newsroom/top-stories/104096/", 2024),
    ("Evwind2020_Marchenkovskaya",
     "evwind.es, Marchenkovskaya wind farm: 120 MW, 48 turbines of 2.5 MW, >16 bn RUB, "
     "https://www.evwind.es/2020/08/05/wind-energy-in-russia-novawind-started-the-"
     "marchenkovskaya-wind-farm-in-rostov/76279", 2020),
    ("DDPMG_magnets",
     "Direct-drive PM wind generators need 0.6–1 t of magnet material per MW (paper on a "
     "reduced-magnet 10 MW PMSG rotor), https://attachments.academia-assets.com/62139471/1.html",
     2018),
    # --- Capex benchmarks
    ("Kallanish2024_Kalgoorlie", "Kallanish via seaisi.org: Lynas Kalgoorlie cracking/leach "
     "plant cost 800 M AUD, 11 Nov 2024", 2024),
    ("Creamer2024_Eneabba", "Creamer Media: Iluka Eneabba refinery 1.7–1.8 bn AUD for 17,500 "
     "t/yr REO, 21 Feb 2024", 2024),
    ("LynasMalaysiaHRE2025", "lcdproduct.com: Lynas Malaysia heavy-RE plant 500 M MYR for "
     "5,000 t/yr feed, 2025", 2025),
    ("FDI_NeoNarva", "fdiintelligence.com / global-recycling.info: Neo Narva sintered magnet "
     "plant 100 M EUR for 2,000 t/yr, 2022–25", 2025),
    # --- Recoveries and magnet composition
    ("BearLodge2014_PFS", "Rare Element Resources, Bear Lodge NI 43-101 PFS (leach 85–99 %, "
     "overall Nd 90–95 %), 2014, pp. 46, 215–216", 2014),
    ("Magnet_composition", "couragemagnet.com FAQ; sensmagnetics.com: sintered NdFeB "
     "composition (RE 29–32.5 wt %, Dy 0.6–1.2 %, B 1.1–1.2 %, Fe 64–69 %)", 2024),
    ("Eurare_electrolysis", "eurare.org; sourcebyspec.com: oxyfluoride electrolysis of "
     "Nd/Pr metal", 2025),
    # --- Logistics
    ("RailDistances", "kolejtranssyberyjska.pl; iastoppers: rail km from Moscow: Perm 1,397, "
     "Novosibirsk 3,303, Krasnoyarsk 4,065, Chita 6,166, Vladivostok 9,259", 2024),
    ("Sakhapress_winterroad", "sakhapress.ru: Anabar winter road (ALROSA Almazy Anabara) "
     "1,786 km, open December–April, ~2020", 2020),
    ("Today2025_winterroads", "today.eu.com: Yakutia opens >11,000 km of winter roads; ≈731 kt "
     "of freight planned for the whole season, https://today.eu.com/bolee-730-tys-tonn-gryzov-"
     "perevezyt-po-avtozimnikam-v-iakytii-v-etom-sezone.html", 2025),
    ("Sovcomflot_NSR", "Sovcomflot via energybulletin.org: NSR navigation July–November, 2019; "
     "nsr.rosatom.ru", 2019),
    ("Prometall_Tomtor", 'prometall.info "Роснефть освоит Томтор": route via Arkhangelsk on '
     "the Northern Sea Route", 2025),
    ("Wiki_AnabarBay", "Wikipedia, Anabar Bay (Laptev Sea), 73°42'N 114°00'E, "
     "https://en.wikipedia.org/wiki/Anabar_Bay", 2020),
    ("FSARF2024_freight", 'fsarf.ru "Стоимость перевозки мороженой рыбной продукции морем на '
     'май 2024": 65 USD/t Busan, 74 USD/t Dalian (40\' reefer, Russian Far East)', 2024),
    ("MoscowTimes2025_premium", "Gazprombank CEP via The Moscow Times: China→Russia 6,159 USD "
     "per 40' vs 1,957 Asia→Rotterdam, mid-Dec 2025 (sanctions premium ≈3×)", 2025),
    ("Drewry2025_WCI", "Drewry World Container Index via redigo.ru / shippingtelegraph.com: "
     "Shanghai–Rotterdam 2,165–2,840 USD/FEU, 2025–26", 2025),
    ("IPEM2014_rail", "IPEM (Savchuk) report on rail freight tariffs, 22 Apr 2014, ipem.ru", 2014),
    ("RZD2013_AR", "RZD Annual Report 2013, income analysis (1,088.2 bn RUB / 2,196.2 bn "
     "t-km), ar2013.rzd.ru", 2014),
    ("TPNHT_tariffs", 'tpnht.ru "Насколько выросли тарифы РЖД": indexation +6.8 % & +11 % '
     "(2022), +10.09 % & +10.75 % (2023)", 2024),
    # --- Policy
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
# Cited only by the demand-side rows: left off the Sources sheet while DEMAND_SIDE is off.
SOURCES_DEMAND_SIDE = {"Adamas2023_NdFeB", "DDPMG_magnets", "Evwind2020_Marchenkovskaya",
                       "Interfax2024_NovaWind", "Rawi2019_NovaWind", "Reuters2025_ChinaImports",
                       "RosatomMENA_magnets", "USGS_MCS2025_REE"}
if not DEMAND_SIDE:
    SOURCES = [s for s in SOURCES if s[0] not in SOURCES_DEMAND_SIDE]
SOURCE_IDS = {s for s, _, _ in SOURCES}

# ---------------------------------------------------------------------------
# Key technical figures (one place, so that reviewers see them together)
# ---------------------------------------------------------------------------
TOMTOR_TREO = 0.145  # Polymetal2021_TomtorReserve (GKZ: 13.53 %)
TOMTOR_NB2O5 = 0.060  # Polymetal2021_TomtorReserve (GKZ: 6.92 %)
TOMTOR_SC2O3 = 0.00051  # GKZ_TomtorProtocol
TOMTOR_THU = 0.0013 + 0.00015  # GKZ_TomtorProtocol: ThO2 + UO3
TOMTOR_Y_SHARE = 0.64 / 13.53  # GKZ_TomtorProtocol: Y2O3 / REE oxides ≈ 4.7 %
LOPARITE_TREO = 0.30  # Hedrick1997_Loparite
LOPARITE_NB2O5 = 0.08  # Student2_Nb (specification: not less than 8 %)
LOPARITE_TA2O5 = 0.006  # estimate (ree-facts.md): assumption
CARBONATE_REO = 0.43  # VIMS2021: 2,620 t TR2O3 in 6,178 t product (2019), 2,330 / 5,391 (2021)
REC_CHLORINATION = 0.95  # VIMS 2019-21 concentrate x 30 % vs RE products -> 0.92-1.0
REC_NB_SMZ = 0.85  # assumption (ree-facts.md estimate: 85-90 %)
REC_TA_SMZ = 0.85  # assumption, as Nb
REC_TOMTOR_CRACK = 0.85  # assumption (ree-facts.md estimate: 80-85 %; Bear Lodge leach ~90 %)
REC_NB_TOMTOR = 0.80  # assumption
REC_SC_TOMTOR = 0.50  # assumption: scandium is recovered from a side stream
REC_SX = 0.96  # assumption (ree-facts-2.md estimate: 95-98 % per product)
REC_METAL = 0.95  # assumption (ree-facts-2.md estimate: 95-98 %); gives 0.37 t oxide/t magnet
ND_METAL_PER_OXIDE = 0.857  # stoichiometry 2 Nd / Nd2O3
NDPR_METAL_REO = 1.166  # t oxide per t NdPr metal (1 / 0.857)
MAGNET_T_PER_MW = 0.8  # DDPMG_magnets: 0.6-1 t per MW of direct-drive generator


def _tomtor_split() -> dict[str, float]:
    """Tomtor distribution (% of TREO).  The placeholder of ree-facts-2.md §1a (La 24, Ce 44,
    NdPr 19, Dy+Tb 0.75, Sm/Eu/Gd/Ho/Er/others 6.25, Y 6.0) with Y set from the GKZ protocol
    (0.64 / 13.53 ≈ 4.7 %) and the other shares rescaled to sum to 100 %."""
    other = {"La_oxide": 24.0, "Ce_oxide": 44.0, "NdPr_oxide": 19.0, "DyTb_oxide": 0.75,
             "SEGY_oxide": 6.25}
    scale = (1 - TOMTOR_Y_SHARE) / (sum(other.values()) / 100)
    split = {k: v / 100 * scale for k, v in other.items()}
    split["SEGY_oxide"] += TOMTOR_Y_SHARE
    return {k: round(v, 4) for k, v in split.items()}


TOMTOR_SPLIT = _tomtor_split()
LOPARITE_SPLIT = {  # ree-facts.md §1 (estimate): La 25, Ce 50, Pr 5, Nd 15, Sm 0.7 ... other 3.5
    "La_oxide": 0.25, "Ce_oxide": 0.50, "NdPr_oxide": 0.20, "SEGY_oxide": 0.05,
}

RAIL_USD_TKM = 0.022  # RZD2013_AR x indexation (TPNHT_tariffs), class 2-3 + wagons: see note
RAIL_USD_T = 5  # assumption: loading/forwarding per rail leg (also makes direct routes win ties)
WINTER_ROAD_USD_TKM = 0.15  # assumption
RIVER_USD_TKM = 0.012  # assumption
NSR_USD_TKM = 0.025  # assumption

# ---------------------------------------------------------------------------
# The price deck (USD per t of product)
# ---------------------------------------------------------------------------
NDPR_OX_CN = sig(cn_ex_vat(593_500))  # SMM2025_Dec, 592-595 kCNY/t incl. VAT -> 74,000
METAL_TO_OXIDE = 760.7 / 624.9  # Cnyes2026_Baotou: metal / oxide on the Baotou exchange
DY_CN = cn_ex_vat(1_525_000)  # SMM2025_DyTb, mid of 1.33-1.72 M CNY/t -> ≈190,000
TB_CN = cn_ex_vat(6_575_000)  # SMM2025_DyTb, mid of 6.0-7.15 M CNY/t -> ≈820,000
DY_FOB = 289_000  # SMM_overseas_Jan2026, mid of 267-311 USD/kg fob
DYTB_CN = sig(0.8 * DY_CN + 0.2 * TB_CN)  # 80 % Dy + 20 % Tb (Tomtor ratio ≈0.6 : 0.15)
DYTB_EXCN = sig(0.8 * DY_FOB + 0.2 * TB_CN * DY_FOB / DY_CN)  # Tb at Dy's fob/China ratio
LA_CN, LA_FOB = sig(cn_ex_vat(4_450)), 900  # SMM2025_LaCe; SMM_overseas_Jan2026 870-930
CE_CN, CE_FOB = sig(cn_ex_vat(12_000)), 1_720  # SMM2025_LaCe; SMM_overseas_Jan2026 1.68-1.76
Y_CN, GD_CN, EU_USGS, SM_GUESS = cn_ex_vat(56_000), cn_ex_vat(180_000), 31_000, 2_000
SEGY_SHARES = {"Sm": 1.8, "Eu": 0.5, "Gd": 1.3, "Y": 4.7, "Ho+Er+others": 2.65}
SEGY_CONTAINED = (SEGY_SHARES["Sm"] * SM_GUESS + SEGY_SHARES["Eu"] * EU_USGS
                  + SEGY_SHARES["Gd"] * GD_CN + SEGY_SHARES["Y"] * Y_CN) / sum(SEGY_SHARES.values())
SEGY_LUMP = sig(0.5 * SEGY_CONTAINED)  # an unseparated SEG+Y concentrate at half its content
MAGNET_EXPORT = 49_000  # Adamas2024_magnets: 2.86 bn USD / 58,152 t = 49.2 USD/kg
NB_OXIDE = sig(18.20 * 2.2046 * 1000)  # Argus2024_columbite, per lb of Nb2O5 (inference)
NB_FENB_EQ = 26_000  # USGS_MCS2021_Nb / Argus2020_FeNb: FeNb 24 USD/kg / 0.65 x 0.699 ≈ 26-27
NB_FENB_FEED = NB_FENB_EQ - 2_000  # less ≈2 USD/kg for the aluminothermic FeNb step (assumption)
TA2O5 = sig(cn_ex_vat(1_800_000))  # Argus2025_Ta2O5, 1,790-1,810 CNY/kg -> ≈220,000
SC2O3 = 1_500_000  # assumption: a third of the 99.99 % quote (MGR2024_scandium) for crude oxide

# Mixed carbonate indexed to the Chinese concentrate: Northern Rare Earth pays for its 50 %
# REO concentrate a share of the separated value of the oxides inside it.  Q1 2026: 26,834
# CNY/t ex-VAT (Cnyes2026_Baotou) = 7,560 USD/t REO against a light-REE basket (La 25, Ce 50,
# NdPr 20, SEGY 5) worth ≈16,650 USD/t REO at the Baotou NdPr price of Jan 2026 (77,900):
# ratio 0.45 (Q3 2024: 4,720 / ≈11,300 = 0.42, Gubit2024_NREconc).  Carbonate = that share of
# the basket of its own ore at base prices + a cracking margin of 1 USD/kg REO (assumption).
CONC_Q1_2026 = 26_834 / CNY_PER_USD / 0.5
CONC_Q3_2024 = 16_741 / CNY_PER_USD / 0.5
CRACK_MARGIN = 1_000


def basket(split: dict[str, float], ndpr: float = NDPR_OX_CN) -> float:
    """Separated value per t REO of an ore's split at Chinese prices."""
    px = {"La_oxide": LA_CN, "Ce_oxide": CE_CN, "NdPr_oxide": ndpr, "DyTb_oxide": DYTB_CN,
          "SEGY_oxide": SEGY_LUMP}
    return sum(share * px[p] for p, share in split.items())


CONC_RATIO = round(CONC_Q1_2026 / basket(LOPARITE_SPLIT, ndpr=cn_ex_vat(624_900)), 2)
CARB_LOP_REO = CONC_RATIO * basket(LOPARITE_SPLIT) + CRACK_MARGIN
CARB_TOM_REO = CONC_RATIO * basket(TOMTOR_SPLIT) + CRACK_MARGIN

P = {  # reference prices (China, ex-VAT; for magnets China's export value)
    "tomtor_ore": sig(0.35 * CONC_RATIO * basket(TOMTOR_SPLIT) * TOMTOR_TREO),
    "carbonate_loparite": sig(CARB_LOP_REO * CARBONATE_REO),
    "carbonate_tomtor": sig(CARB_TOM_REO * CARBONATE_REO),
    "La_oxide": LA_CN,
    "Ce_oxide": CE_CN,
    "NdPr_oxide": NDPR_OX_CN,
    "DyTb_oxide": DYTB_CN,
    "SEGY_oxide": SEGY_LUMP,
    "NdPr_metal": sig(NDPR_OX_CN * METAL_TO_OXIDE),
    "NdFeB_magnet": MAGNET_EXPORT,
    "Nb2O5": NB_OXIDE,
    "Ta2O5": TA2O5,
    "Sc2O3": SC2O3,
}
EXPORT = {  # what Russia gets abroad outside China (fob-type), before freight
    **P, "La_oxide": LA_FOB, "Ce_oxide": CE_FOB, "DyTb_oxide": DYTB_EXCN,
}
PRICE_NOTE = {
    "La_oxide": f"{LA_FOB / 1000:g} USD/kg fob (SMM_overseas_Jan2026: 870-930 USD/t)",
    "Ce_oxide": f"{CE_FOB / 1000:g} USD/kg fob (SMM_overseas_Jan2026: 1.68-1.76)",
    "NdPr_oxide": f"{NDPR_OX_CN / 1000:g} USD/kg, the Chinese price (SMM2025_Dec) taken as the "
    "world price: the 2025-26 ex-China premium is the scenario ex_china_premium",
    "DyTb_oxide": f"{DYTB_EXCN / 1000:g} USD/kg ex-China: 80 % Dy at the fob price (289, "
    "SMM_overseas_Jan2026) + 20 % Tb at Dy's fob/China ratio (≈1.5 x 820, SMM2025_DyTb); "
    "China licenses Dy/Tb exports since Apr 2025 (AdamasMOFCOM2025)",
    "SEGY_oxide": f"{SEGY_LUMP / 1000:g} USD/kg (assumption, see the China row)",
}
DOMESTIC_MARKUP = 1.1  # assumption: import parity (freight, handling) over export prices
US_DUTY = 0.35  # Proclamation10420 (coverage of HTS 2846/2805 not verified)


# ---------------------------------------------------------------------------
# Sheets
# ---------------------------------------------------------------------------
def settings() -> list[dict]:
    rows = [
        dict(key="first_year", value=FIRST_YEAR, source=A,
             note="First planning year (the year after the data's latest price points)."),
        dict(key="last_year", value=LAST_YEAR, source=A,
             note="15-year horizon: Tomtor can be online ≈2030 and run ≥10 years; salvage "
             "credits plants alive after 2040."),
        dict(key="discount_rate", value=0.10, source=A,
             note="Real discount rate for a risky Russian mining/processing project (central "
             "bank key rate 16–21 % nominal in 2024–25); 8 % and 12 % are sensible sweeps."),
        dict(key="currency", value="USD", source=A,
             note="Constant USD of the 2025-26 price deck, no escalation."),
        dict(key="unmet_penalty_usd_per_t", value=None, source=A,
             note="Blank: no market has a minimum (demand is an opportunity, not an obligation)."),
        dict(key="mip_gap", value=0.0001, source=A, note="Default relative gap."),
        dict(key="time_limit_s", value=120, source=A,
             note="Safety limit; the base case solves in about a second."),
        dict(key="salvage", value="on", source=A,
             note="Credit the undepreciated capex of plants alive in 2040 (straight line), so "
             "late builds are not penalised by the horizon end."),
        dict(key="threads", value=1, source=A, note="Reproducible results."),
    ]
    if DEMAND_SIDE:
        rows.append(dict(key="curve_segments", value=8, source=A,
                         note="Segments of each price-response market (MODEL.md §2.1)."))
    return rows


NODES = [
    # node, kind, region, country, lat, lon, source, note
    ("Tomtor", "mine", "Sakha (Yakutia), Olenyok ulus", "Russia", 71.05, 116.55,
     "Wiki_Tomtor,TASS2025_Rosneft",
     "Tomtor Nb-REE deposit, Buranny area; no all-season road, off-grid (diesel power). "
     "Licence holder Vostok Engineering, 100 % Rosneft since 2025."),
    ("Lovozero", "mine", "Murmansk oblast", "Russia", 67.9, 34.6, A,
     "Karnasurt underground mine and Lovozersky GOK concentrator (Revda); coordinates of "
     "Revda, approximate. Deposit: Wiki_Lovozero, output VIMS2021."),
    ("Solikamsk", "plant", "Perm krai", "Russia", 59.65, 56.77, "VIMS2021",
     "Solikamsk Magnesium Works (SMZ, Rosatom): chlorination of loparite concentrate to RE "
     "carbonate + Nb/Ta/Ti; separation complex from 2027."),
    ("Glazov", "plant", "Udmurtia", "Russia", 58.14, 52.66, "Magnetconf2024_Glazov",
     "Rosatom's committed NdFeB magnet plant (SPIC 2024, 1,000 t/yr); SMZ agreed to supply it "
     "with Nd and Pr (Mforum2025_SMZGlazov). Town coordinates."),
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
     "Japanese buyers, delivered at Yokohama (city coordinates)."),
    ("Korea", "market", "Busan", "South Korea", 35.1, 129.04, "FSARF2024_freight",
     "Korean buyers (e.g. KSM Metals, magnet users), delivered at Busan."),
    ("EU", "market", "Rotterdam (EU)", "Netherlands", 51.92, 4.48, A,
     "EU buyers of oxides, metal and magnets, delivered at Rotterdam (city coordinates)."),
    ("Sillamae", "market", "Ida-Viru (Sillamäe)", "Estonia", 59.4, 27.76, "Argus2023_Silmet",
     "NPM Silmet separation plant, the historic buyer of SMZ carbonate (Quartz2022_Silmet)."),
    ("USA", "market", "California (Los Angeles/Long Beach)", "United States", 33.75, -118.2,
     A, "US buyers, delivered at Los Angeles/Long Beach (city coordinates)."),
]
NODES_DEMAND_SIDE = [
    ("Volgodonsk", "plant", "Rostov oblast", "Russia", 47.51, 42.16, "Rawi2019_NovaWind",
     "Rosatom's wind-turbine component plant (NovaWind / Red Wind, Atommash site): "
     "direct-drive generators with Russian magnets; the wind farms it supplies are the "
     "market. Town coordinates."),
]


def nodes() -> list[dict]:
    rows = NODES + (NODES_DEMAND_SIDE if DEMAND_SIDE else [])
    return [
        dict(node=n, kind=k, region=r, country=c, lat=la, lon=lo, opening_cost_musd=0,
             source=s, note=note)
        for n, k, r, c, la, lo, s, note in rows
    ]


def products() -> list[dict]:
    rows = [
        dict(product="tomtor_ore", stage=0, reo_content=TOMTOR_TREO,
             source="Polymetal2021_TomtorReserve,Malkova2019_Tomtor",
             note="Direct-shipping high-grade ore (14.5 % TREO, 6.0 % Nb2O5): it cannot be "
             "enriched by conventional beneficiation, so there is no Tomtor concentrate. The "
             "GKZ protocol gives 13.53 % / 6.92 % on its own envelope (GKZ_TomtorProtocol)."),
        dict(product="loparite_conc", stage=1, reo_content=LOPARITE_TREO,
             source="Hedrick1997_Loparite,Student2_Nb",
             note="Lovozero loparite concentrate (≈95 % loparite, ≈30 % REO; ≥8 % Nb2O5 by "
             "specification; ≈0.6 % Ta2O5 and 39 % TiO2 estimated, ree-facts.md)."),
        dict(product="carbonate_loparite", stage=2, reo_content=CARBONATE_REO, source="VIMS2021",
             note="SMZ collective RE carbonate from loparite. REO content = 2,620 t TR2O3 in "
             "6,178 t exported product (2019); 2021 gives 0.43 as well. Light REE only."),
        dict(product="carbonate_tomtor", stage=2, reo_content=CARBONATE_REO, source=A,
             note="Mixed RE carbonate from cracking Tomtor ore: REO content taken equal to the "
             "SMZ product (VIMS2021); richer in Y and Dy/Tb than the loparite one."),
        dict(product="La_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100, source=A,
             note="Lanthanum oxide. Disposal = stockpiling surplus (100 USD/t, assumption)."),
        dict(product="Ce_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100, source=A,
             note="Cerium oxide, the main surplus element. Disposal = stockpiling (assumption)."),
        dict(product="NdPr_oxide", stage=3, reo_content=1.0, source=A,
             note="Didymium (Nd+Pr) oxide, the magnet feed and main value driver."),
        dict(product="DyTb_oxide", stage=3, reo_content=1.0, source=A,
             note="Dy + Tb oxides lumped (Tomtor ratio ≈0.6 : 0.15, i.e. ≈80 % Dy)."),
        dict(product="SEGY_oxide", stage=3, reo_content=1.0, disposal_cost_usd_per_t=100,
             source="Prometall2025_SMZ_SEG",
             note="Unseparated lump of the remaining oxides: Sm, Eu, Gd, Y, Ho, Er and others "
             "(mostly Y at Tomtor), like the SEG concentrate SMZ plans. Disposal = stockpiling "
             "(100 USD/t, assumption)."),
        dict(product="NdPr_metal", stage=4, reo_content=sig(NDPR_METAL_REO, 3), source=A,
             note="NdPr metal (Nd75Pr25); REO content = oxide mass per metal mass (1/0.857)."),
        dict(product="NdFeB_magnet", stage=5, reo_content=0.36, source="Magnet_composition",
             note="Sintered NdFeB: 30 wt % NdPr metal (0.35 t oxide eq.) + ≈1 wt % Dy/Tb "
             "(0.012 t oxide) per t; iron, boron and other alloying inputs are costed in the "
             "magnet opex."),
        dict(product="Nb2O5", stage=3, reo_content=0.0, source="USGS_MCS2021_Nb",
             disposal_cost_usd_per_t=100,
             note="Niobium pentoxide co-product (no REO). Sold as oxide (superalloys, Nb metal, "
             "optics) or as feed to ferroniobium makers (steel). Stage 3 (a refined oxide) for "
             "the stage<=N policy targets; it does not enter the REO-weighted depth index. Oxide "
             "beyond the capped outlets is stockpiled (100 USD/t, assumption)."),
        dict(product="Ta2O5", stage=3, reo_content=0.0, source="Argus2025_Ta2O5",
             note="Tantalum pentoxide co-product of SMZ chlorination (no REO)."),
        dict(product="Sc2O3", stage=3, reo_content=0.0, source="GKZ_TomtorProtocol",
             disposal_cost_usd_per_t=0,
             note="Scandium oxide co-product of Tomtor (0.051 % Sc2O3 in ore). Counted outside "
             "REO, like Nb2O5, so it does not enter the depth index. Unsold oxide is "
             "stockpiled (disposal at no cost)."),
        dict(product="ThU_residue", stage=2, reo_content=0.0, disposal_cost_usd_per_t=20000,
             source=A,
             note="Thorium and uranium oxides (ThO2 0.13 % + UO3 0.015 % of Tomtor ore, "
             "GKZ_TomtorProtocol) "
             "separated in cracking; tonnes of contained Th+U oxide. Must be disposed of where "
             "the ore is cracked: 20,000 USD per t contained (≈29 USD per t ore) for storage "
             "of the radioactive residue and class-7 handling (assumption; no public figure)."),
    ]
    if DEMAND_SIDE:
        rows.append(dict(
            product="wind_generator_MW", stage=6, reo_content=sig(MAGNET_T_PER_MW * 0.36, 3),
            source="DDPMG_magnets,RosatomMENA_magnets",
            note="Direct-drive permanent-magnet wind generator, counted in MW of capacity (one "
            "unit of this product = 1 MW, not 1 t). 0.8 t NdFeB per MW (0.6-1 t, "
            "DDPMG_magnets) x 0.36 t REO per t magnet."))
    return rows


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
     "Pyro + hydrometallurgical cracking of Tomtor ore to mixed RE carbonate, Nb2O5 and a "
     "scandium side stream; Th and U go to a residue."),
    ("sep_loparite", 2, 3, "t REO in carbonate feed", "RIA2025_SMZseparation",
     "Solvent-extraction separation of loparite carbonate (light REE)."),
    ("sep_tomtor", 2, 3, "t REO in carbonate feed", "BearLodge2014_PFS",
     "Solvent-extraction separation of Tomtor carbonate (light + heavy REE)."),
    ("ndpr_metal", 3, 4, "t NdPr oxide treated", "Eurare_electrolysis",
     "Oxyfluoride electrolysis of NdPr oxide to metal."),
    ("magnet_making", 4, 5, "t magnet produced", "Magnet_composition",
     "Alloying, strip casting, milling, pressing, sintering of NdFeB magnets."),
]
PROCESSES_DEMAND_SIDE = [
    ("generator_assembly", 5, 6, "MW of direct-drive generators", "Rawi2019_NovaWind",
     "Rotor magnet assembly, stator winding and final assembly of direct-drive wind "
     "generators (2.5 MW NovaWind/Lagerwey design)."),
]


def processes() -> list[dict]:
    rows = PROCESSES + (PROCESSES_DEMAND_SIDE if DEMAND_SIDE else [])
    return [
        dict(process=p, stage_from=a, stage_to=b, activity_unit=u, source=s, note=n)
        for p, a, b, u, s, n in rows
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
        sig(LOPARITE_TREO * REC_CHLORINATION / CARBONATE_REO, 3), "VIMS2021,Hedrick1997_Loparite",
        "0.30 t REO x 0.95 recovery / 0.43 t REO per t carbonate. Recovery: VIMS2021 2019-21 "
        "concentrate x 30 % against RE products implies 92-100 %.")
    add("loparite_cracking", "Nb2O5", "out", sig(LOPARITE_NB2O5 * REC_NB_SMZ, 3), "Student2_Nb",
        "8 % Nb2O5 (specification, Student2_Nb) x 0.85 recovery (assumption, estimate 85-90 %); "
        "7.7 kt concentrate gives ≈520 t/yr, in the estimated 550-700 t/yr for 7.7-9.5 kt.")
    add("loparite_cracking", "Ta2O5", "out", sig(LOPARITE_TA2O5 * REC_TA_SMZ, 3), A,
        "≈0.6 % Ta2O5 in concentrate (estimate, ree-facts.md) x 0.85 recovery (assumption): "
        "the tantalum credit ree-facts-3.md §6 asks for; SMZ sells Ta2O5 (VIMS2021).")
    add("tomtor_cracking", "tomtor_ore", "in", 1, "Malkova2019_Tomtor",
        "Ore fed without beneficiation.")
    add("tomtor_cracking", "carbonate_tomtor", "out",
        sig(TOMTOR_TREO * REC_TOMTOR_CRACK / CARBONATE_REO, 3), A,
        "0.145 t REO x 0.85 recovery (estimate 80-85 %; cracking + leach ≈90 % at Bear Lodge, "
        "BearLodge2014_PFS) / 0.43.")
    add("tomtor_cracking", "Nb2O5", "out", sig(TOMTOR_NB2O5 * REC_NB_TOMTOR, 3), A,
        "6.0 % Nb2O5 (Polymetal2021_TomtorReserve) x 0.80 recovery (assumption).")
    add("tomtor_cracking", "Sc2O3", "out", sig(TOMTOR_SC2O3 * REC_SC_TOMTOR, 3),
        "GKZ_TomtorProtocol",
        "0.051 % Sc2O3 in ore (GKZ_TomtorProtocol) x 0.5 recovery from a side stream "
        "(assumption): ≈20 t/yr per 80 kt train.")
    add("tomtor_cracking", "ThU_residue", "out", sig(TOMTOR_THU, 3), "GKZ_TomtorProtocol",
        "ThO2 0.13 % + UO3 0.015 % of the ore (GKZ_TomtorProtocol), all to the residue.")
    for proc, split, src, why in (
        ("sep_loparite", LOPARITE_SPLIT, A,
         "Loparite distribution (estimate, ree-facts.md; the Hedrick1997_Loparite table was "
         "not retrieved): La 25, Ce 50, Pr+Nd 20, other 5 % (Sm, Eu, Gd, Y ...); Dy+Tb ≈0 "
         "(Ce/Yb ≈78,000); close to the Mountain Pass light-REE proxy (MP2021_10K)"),
        ("sep_tomtor", TOMTOR_SPLIT, A,
         "Tomtor distribution: placeholder of ree-facts-2.md §1a (no lanthanide-by-lanthanide "
         "assay is public), NdPr ≈19 % tied to Polymetal2021_TomtorReserve (2.8/14.5; 2.8/15.0 "
         "in Polymetal2020_TomtorResource), Y set "
         "to 4.7 % from GKZ_TomtorProtocol (0.64/13.53) instead of 6 %, the rest rescaled: "
         + ", ".join(f"{k.split('_')[0]} {v * 100:.2f} %" for k, v in TOMTOR_SPLIT.items())),
    ):
        carb = "carbonate_loparite" if proc == "sep_loparite" else "carbonate_tomtor"
        add(proc, carb, "in", sig(1 / CARBONATE_REO, 3), "VIMS2021",
            "1 t REO = 1/0.43 t carbonate.")
        for prod, share in split.items():
            add(proc, prod, "out", sig(share * REC_SX, 3), src,
                f"{why}; x {REC_SX} SX recovery (estimate 95-98 %).")
    add("ndpr_metal", "NdPr_oxide", "in", 1, "Eurare_electrolysis", "Activity unit.")
    add("ndpr_metal", "NdPr_metal", "out", sig(ND_METAL_PER_OXIDE * REC_METAL, 3), A,
        "0.857 t metal per t oxide (stoichiometry) x 0.95 yield (estimate 95-98 %).")
    add("magnet_making", "NdPr_metal", "in", 0.30, "Magnet_composition",
        "≈30 wt % NdPr (RE 29-32.5 wt %); with 0.814 metal yield = 0.37 t NdPr oxide per t "
        "magnet (ree-facts-2.md).")
    add("magnet_making", "DyTb_oxide", "in", 0.012, "Magnet_composition",
        "≈1 wt % Dy/Tb (Magnet_composition: Dy 0.6-1.2 %) as oxide (x 1.15); metallisation "
        "of Dy/Tb folded into the magnet step.")
    add("magnet_making", "NdFeB_magnet", "out", 1, "Magnet_composition", "Activity unit.")
    if DEMAND_SIDE:
        add("generator_assembly", "NdFeB_magnet", "in", MAGNET_T_PER_MW, "DDPMG_magnets",
            "0.8 t NdFeB per MW of direct-drive generator (0.6-1 t, DDPMG_magnets); one magnet "
            "set per generator (RosatomMENA_magnets).")
        add("generator_assembly", "wind_generator_MW", "out", 1, "Rawi2019_NovaWind",
            "Activity unit = 1 MW of generators.")
    return rows


# --- existing and candidate capacity -------------------------------------------------------
LOVOZERO_NOW = 7700  # VIMS2021: 2021 output (9.5 / 8.8 / 7.7 kt in 2019 / 20 / 21)
LOVOZERO_PROGRAMME = {2026: 7700, 2027: 8800, 2028: 9900, 2029: 11000, None: 12000}
GLAZOV_ONLINE = 2028  # Mrchub2025_SMZcapex: up to 1,000 t/yr magnets by 2028
GLAZOV_T = 1000  # Magnetconf2024_Glazov


def node_processes() -> list[dict]:
    rows: list[dict] = []

    def add(node, process, opex, cap=0, year=None, source=A, note=""):
        rows.append(dict(node=node, process=process, year=year, existing_capacity=cap,
                         opex_usd_per_activity=opex, min_load=0, source=source, note=note))

    lov_note = ("Capacity = the latest published output, 7.7 kt concentrate in 2021 (VIMS2021: "
                "9.5 / 8.8 / 7.7 kt in 2019 / 20 / 21); feed to SMZ fell another 13 % in 2024 "
                "(Prometall2025_LGOK), three new stoping blocks came in 2025 "
                "(Sdelanounas2025_LGOK). Opex assumption: ≈2 USD/kg REO for underground "
                "mining + concentration of 1.12 % ore.")
    for year in (None, 2026, 2027, 2028, 2029):
        add("Lovozero", "lovozero_mining", 600, LOVOZERO_NOW, year, source="VIMS2021",
            note=lov_note if year is None else f"{year}: as the other years (a neutral year row "
            "that scenario lovozero_programme_12kt moves to the 12 kt-by-2030 ramp).")
    add("Solikamsk", "loparite_cracking", 700, 13000, source="Student2_SMZ",
        note="Capacity 13,000 t/yr concentrate (shop no. 7, an older figure) ≈3.7 kt REO/yr, "
        "above the 2.3-2.6 kt made in 2019-21 (VIMS2021), which was limited by concentrate "
        "supply. Opex assumption ≈2.5 USD/kg REO (Ta is credited, Ti not).")
    add("Solikamsk", "sep_loparite", 5000, 2600, source="RIA2025_SMZseparation",
        note="Committed SMZ separation complex: 2,500 t/yr oxides (RIA2025_SMZseparation) / "
        "0.96 recovery ≈2,600 t REO feed, from 2027 (the 2026 row is 0). Opex assumption: "
        "5 USD/kg REO, part of the 8-12 USD/kg all-in ex-China estimate.")
    add("Solikamsk", "sep_loparite", 5000, 0, year=FIRST_YEAR, source="RIA2025_SMZseparation",
        note="Not yet commissioned in 2026.")
    glazov_note = ("Committed Rosatom magnet plant (SPIC 14 Feb 2024, Magnetconf2024_Glazov): "
                   "1,000 t/yr, 3.6 bn RUB to 2030 (ABN2024_Glazov), output by 2028 "
                   "(Mrchub2025_SMZcapex). Existing capacity from its commissioning year, so "
                   "no capex. Opex assumption: 15 USD/kg magnet incl. ≈1 USD/kg iron and "
                   "ferroboron, energy, labour, machining losses and coating.")
    add("Glazov", "magnet_making", 15000, GLAZOV_T, source="Magnetconf2024_Glazov",
        note=glazov_note)
    for y in range(FIRST_YEAR, GLAZOV_ONLINE):
        add("Glazov", "magnet_making", 15000, 0, year=y, source="Mrchub2025_SMZcapex",
            note=f"{y}: not yet producing (output by {GLAZOV_ONLINE}).")
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
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk", "Glazov"):
        add(n, "ndpr_metal", 3000,
            note="Candidate. Opex assumption: 3 USD/kg oxide (electricity, fluorides, anodes).")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk"):
        add(n, "magnet_making", 15000,
            note="Candidate. Opex assumption: 15 USD/kg magnet, as Glazov.")
    if DEMAND_SIDE:
        add("Volgodonsk", "generator_assembly", 150000, 250, source="Rawi2019_NovaWind",
            note="Existing generator line of NovaWind/Red Wind (SPIC 2019, 580 sets). Capacity "
            "assumption: 250 MW/yr (≈100 turbines of 2.5 MW), the pace of Rosatom's 1 GW "
            "built by 2023-24 (Interfax2024_NovaWind). Opex assumption: 150,000 USD per MW for "
            "copper, steel, structure and labour, everything but the magnets.")
    return rows


FOM = 0.03  # assumption: fixed O&M = 3 % of capex per year
MAGNET_CAPEX = rnd(3.6e9 / RUB_PER_USD / 1e6, 5)  # ABN2024_Glazov: 3.6 bn RUB / 1,000 t -> 40


def build_options() -> list[dict]:
    rows: list[dict] = []

    def add(option, node, process, unit_cap, capex, lead, earliest, max_units, note,
            source=A, lifetime=25, divisible="no"):
        rows.append(dict(option=option, node=node, process=process, unit_capacity=unit_cap,
                         capex_musd=capex, fixed_om_musd_per_year=sig(FOM * capex, 2),
                         lead_time_years=lead, earliest_year=earliest, max_units=max_units,
                         lifetime_years=lifetime, divisible=divisible, source=source,
                         note=note))

    add("Tomtor_mine", "Tomtor", "tomtor_mining", 40000, 125, 4, FIRST_YEAR, 4,
        "Built in stages of 40 kt/yr ore, a quarter of the 160 kt/yr plan (Reuters2021_Tomtor, "
        "Wiki_Tomtor); Polymetal's stage 1 mines the niobium-rich ore first "
        "(Polymetal2021_TomtorReserve). Capex: 125 MUSD per stage (500 for 160 kt/yr) for pit, "
        "off-grid power, camp, winter-road fleet and coastal terminal, the mine's share "
        "(assumption) of the project total: with cracking and separation for 160 kt/yr the "
        "project comes to ≈2 bn USD, inside the 150-200 bn RUB (1.7-2.2 bn USD) of "
        "Kommersant2025_Tomtor (>1.3 bn USD in 2018, Roskill2018).",
        source="Kommersant2025_Tomtor")
    crack_reo = 80000 * TOMTOR_TREO * REC_TOMTOR_CRACK
    crack_capex = rnd(40e3 * crack_reo / 1e6, 10)
    for n, capex, extra in (
        ("Tomtor", rnd(crack_capex * 1.5, 10), " x1.5 arctic construction premium (assumption)"),
        ("Krasnoyarsk", crack_capex, ""),
        ("Tomsk", crack_capex, ""),
        ("Solikamsk", crack_capex, ""),
    ):
        add(f"Crack_{n}", n, "tomtor_cracking", 80000, capex, 4, FIRST_YEAR, 2,
            f"80 kt ore/yr ≈{rnd(crack_reo, 10)} t REO/yr. Capex: 40 k USD per t/yr REO, the "
            f"low end of the 40-80 k range (Kallanish2024_Kalgoorlie ≈50-60 k per t/yr NdPr "
            f"basis; integrated Creamer2024_Eneabba ≈65 k){extra}. Divisible: a hydromet "
            "plant is built from parallel circuits and sized to the ore it gets, at a capex "
            "linear in its size, as every capex in the model is.",
            source="Kallanish2024_Kalgoorlie,Creamer2024_Eneabba", divisible="yes")
    sep_capex = rnd(35e3 * 5000 / 1e6, 5)
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk"):
        add(f"SepTomtor_{n}", n, "sep_tomtor", 5000, sep_capex, 3, FIRST_YEAR, 2,
            "5,000 t REO/yr feed. Capex: 35 k USD per t/yr REO, the SMZ complex (≈29 k, "
            "Mrchub2025_SMZcapex) +20 % for the heavier Tomtor product slate (assumption), "
            "inside the 30-60 k range (LynasMalaysiaHRE2025, Creamer2024_Eneabba). Divisible: "
            "solvent extraction is built from banks of mixer-settlers, sized to its feed.",
            source="Mrchub2025_SMZcapex", divisible="yes")
    add("SepLoparite_SMZ2", "Solikamsk", "sep_loparite", 2600, 72, 2, 2027, 1,
        "A second line like the committed complex: 7 bn RUB ≈72 MUSD for 2,500 t/yr oxides "
        "(Mrchub2025_SMZcapex, Ura2025_SMZcapex); needed only if SMZ gets more carbonate than "
        "the first line takes.", source="Mrchub2025_SMZcapex,Ura2025_SMZcapex")
    add("Lovozero_expansion", "Lovozero", "lovozero_mining", 2150, 30, 3, FIRST_YEAR, 2,
        "Two steps of 2,150 t/yr take Lovozero from 7.7 kt to the 12 kt target "
        "(Murmantv_LGOK12kt). Capex assumption: ≈14 k USD per t/yr concentrate, the share of "
        "the 6-7 bn RUB 2015 plan (Kommersant2015_SMZ) not spent on separation.")
    metal_t = 1500 * ND_METAL_PER_OXIDE * REC_METAL
    metal_capex = rnd(20e3 * metal_t / 1e6, 5)
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk", "Solikamsk", "Glazov"):
        add(f"Metal_{n}", n, "ndpr_metal", 1500, metal_capex, 2, FIRST_YEAR, 2,
            f"1,500 t oxide/yr ≈{rnd(metal_t, 10)} t metal/yr. Capex assumption: 20 k USD per "
            "t/yr metal, mid of the 15-30 k estimate (no published figure). Divisible: "
            "electrolysis is built from small modular cells (20-40 kA, Eurare_electrolysis), "
            "so any size up to 3,000 t/yr oxide may be built.", lifetime=20, divisible="yes")
    magnet_note = (f"1,000 t/yr NdFeB. Capex: {MAGNET_CAPEX} MUSD, the Glazov benchmark (3.6 bn "
                   "RUB for 1,000 t/yr, ABN2024_Glazov ≈40 k USD per t/yr; Neo Narva ≈54 k, "
                   "FDI_NeoNarva).")
    add("Magnet_Glazov2", "Glazov", "magnet_making", 1000, MAGNET_CAPEX, 3, 2027, 2,
        "A second (and third) line beside the committed plant. " + magnet_note, lifetime=20,
        source="ABN2024_Glazov")
    for n in ("Novosibirsk", "Tomsk", "Krasnoyarsk"):
        add(f"Magnet_{n}", n, "magnet_making", 1000, MAGNET_CAPEX, 3, FIRST_YEAR, 3,
            magnet_note, lifetime=20, source="ABN2024_Glazov")
    if DEMAND_SIDE:
        add("Generator_Volgodonsk2", "Volgodonsk", "generator_assembly", 250,
            sig(955e6 / RUB_PER_USD / 1e6), 2, 2027, 2,
            "A second 250 MW/yr generator line. Capex ≈11 MUSD = the 955 M RUB of the 2019 "
            "SPIC for the localised component lines (Rawi2019_NovaWind).",
            source="Rawi2019_NovaWind")
    return rows


def deposits() -> list[dict]:
    return [
        dict(deposit="Tomtor_Buranny", node="Tomtor", product="tomtor_ore",
             reserve_t=11_400_000, max_per_year_t=160_000, extraction_tax_usd_per_t=7,
             source="Polymetal2021_TomtorReserve,Reuters2021_Tomtor",
             note="Reserve 11.4 Mt (Polymetal2021_TomtorReserve; GKZ B+C1 6.9 Mt at a 3.5 % "
             "Nb2O5 cut-off, GKZ_TomtorProtocol); annual 160 kt (Reuters2021_Tomtor). "
             "Extraction tax: NDPI 4.8 % (NDPI_bill2019) x rent coefficient 3.5 "
             "(Interfax2021_Krenta) x K_rm 0.1 for new rare-metal projects "
             "(Minpromtorg2025_Krm) on an ore value of ≈400 USD/t (the China ore price, "
             "assumption) ≈7 USD/t (≈67 USD/t without K_rm; see scenario ndpi_full_rate)."),
        dict(deposit="Lovozero_loparite", node="Lovozero", product="loparite_conc",
             reserve_t=8_800_000, max_per_year_t=12_000, extraction_tax_usd_per_t=150,
             source="Wiki_Lovozero,Murmantv_LGOK12kt",
             note="Reserve in concentrate terms: 2,653 kt REO A+B+C1 (Wiki_Lovozero) / 0.30 "
             "t REO per t concentrate, ignoring dressing losses (never binding). Annual limit "
             "12 kt = the 2030 target (Murmantv_LGOK12kt). Tax assumption: NDPI 4.8 % x 3.5 "
             "(no K_rm for an existing mine) on ≈900 USD/t concentrate ≈150 USD/t."),
    ]


# --- routes ---------------------------------------------------------------------------------
NSR_FIRST_YEAR = 2030  # assumption: Arctic logistics built with the mine
TOMTOR_GOODS = "tomtor_ore,carbonate_tomtor,Nb2O5,Sc2O3"  # what leaves Tomtor


def routes() -> list[dict]:
    rows: list[dict] = []

    def add(o, d, mode, km, usd_t, usd_tkm, note, source=A, cap=None, prods=None,
            first=None, last=None):
        rows.append(dict(origin=o, destination=d, mode=mode, distance_km=km,
                         cost_usd_per_t=usd_t, cost_usd_per_tkm=usd_tkm,
                         capacity_t_per_year=cap, products=prods, first_year=first,
                         last_year=last, source=source, note=note))

    rail_note = ("Rail at 0.022 USD/t-km (an estimate): RZD's 2013 average revenue of 0.50 "
                 "RUB/t-km (RZD2013_AR) indexed ≈2.2x to 2024 (TPNHT_tariffs) ≈1.1 RUB/t-km, "
                 "raised to ≈2 RUB/t-km ≈0.022 USD/t-km for class 2-3 freight with wagon hire "
                 "(IPEM2014_rail: wagons ≈45 % of the shipper's cost), + 5 USD/t loading per "
                 "leg (assumption). ")
    def rail(o, d, km, how, both=True, prods=None, dist_src=None):
        # the rate is an estimate built on the sources in rail_note: the rows are assumptions
        add(o, d, "rail", km, RAIL_USD_T, RAIL_USD_TKM, rail_note + how, prods=prods)
        if both:
            add(d, o, "rail", km, RAIL_USD_T, RAIL_USD_TKM, rail_note + how, prods=prods)

    # Tomtor: winter road to the Laptev coast, then NSR in the summer
    add("Tomtor", "Anabar_Bay", "winter_road", 400, 0, WINTER_ROAD_USD_TKM,
        "≈400 km to the Laptev coast (Wiki_Tomtor); open Dec-Apr like the Anabar winter road "
        "(Sakhapress_winterroad); the planned chain is ice roads, barges, ships, rail "
        "(SRK_TomtorRoute). Cost 0.15 USD/t-km (≈13.5 RUB) and capacity 100 kt/yr (≈25 "
        "loaded 30-t trucks a day for ≈130 days; ≈14 % of all Yakutian winter-road freight, "
        "Today2025_winterroads) are assumptions; opens 2030 with the mine.",
        cap=100_000, first=NSR_FIRST_YEAR, prods=TOMTOR_GOODS)
    nsr = ("NSR shipping, July-November (Sovcomflot_NSR): 20 USD/t lighterage/handling at the "
           "shallow Anabar estuary + 0.025 USD/t-km ice-class freight (assumptions; no public "
           "rate found); capacity 120 kt/yr per lane (≈12 voyages of 10 kt in the season, "
           "assumption); distance estimated along the NSR. ")
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
         "Revda–Olenegorsk–Volkhovstroy–Vologda–Kirov–Perm–Solikamsk ≈2,700 km (estimate).",
         both=False, prods="loparite_conc")
    rail("Arkhangelsk", "Solikamsk", 1900, "Via Konosha–Kotlas–Kirov–Perm ≈1,900 km "
         "(estimate).", both=False, prods=TOMTOR_GOODS)
    # SMZ to the committed magnet plant (Nd/Pr supply agreement, Mforum2025_SMZGlazov)
    rail("Solikamsk", "Glazov", 550, "Solikamsk–Perm ≈250 km + Perm–Vereshchagino–Glazov "
         "≈300 km (estimate; ≈500 km in ree-facts-3.md). SMZ supplies Glazov with Nd and Pr "
         "(Mforum2025_SMZGlazov).")
    rail("Glazov", "Moscow", 1150, "Glazov–Kirov ≈190 km + Kirov–Moscow ≈960 km (estimate).")
    rail("Glazov", "St_Petersburg", 1750, "Glazov–Kirov–Vologda–St Petersburg ≈1,750 km "
         "(estimate).", both=False)
    rail("Glazov", "Vladivostok", 8100, "9,259 km Moscow–Vladivostok (RailDistances) − "
         "≈1,150 km (estimate).", both=False, dist_src="RailDistances")
    # Siberian rail triangle and links to SMZ
    rail("Novosibirsk", "Krasnoyarsk", 760, "4,065 − 3,303 km (RailDistances).",
         dist_src="RailDistances")
    rail("Novosibirsk", "Tomsk", 280, "Via Taiga ≈280 km (estimate).")
    rail("Krasnoyarsk", "Tomsk", 620, "Via Taiga ≈620 km (estimate).")
    rail("Solikamsk", "Novosibirsk", 2150, "3,303 − 1,397 (RailDistances) + ≈250 km "
         "Perm–Solikamsk (estimate).", dist_src="RailDistances")
    rail("Solikamsk", "Tomsk", 2450, "Solikamsk–Novosibirsk ≈2,150 km + ≈300 km via Taiga "
         "(estimate).")
    rail("Solikamsk", "Krasnoyarsk", 2900, "4,065 − 1,397 (RailDistances) + ≈250 km.",
         dist_src="RailDistances")
    # To Moscow (domestic market, imports), St Petersburg (EU) and Vladivostok (Asia)
    rail("Solikamsk", "Moscow", 1650, "1,397 (RailDistances) + ≈250 km Perm–Solikamsk.",
         dist_src="RailDistances")
    rail("Novosibirsk", "Moscow", 3303, "RailDistances.", dist_src="RailDistances")
    rail("Tomsk", "Moscow", 3600, "≈3,303 + ≈300 km via Taiga (estimate).")
    rail("Krasnoyarsk", "Moscow", 4065, "RailDistances.", dist_src="RailDistances")
    rail("Moscow", "St_Petersburg", 650, "≈650 km (estimate).", both=False)
    rail("Solikamsk", "St_Petersburg", 2300, "≈2,300 km (estimate, ree-facts.md).", both=False)
    rail("Solikamsk", "Vladivostok", 8100, "≈8,100 km (estimate, ree-facts.md).", both=False)
    rail("Novosibirsk", "Vladivostok", 5960, "9,259 − 3,303 ≈5,960 km (RailDistances).",
         both=False, dist_src="RailDistances")
    rail("Tomsk", "Vladivostok", 5830, "≈5,960 − 220 + 80 km via Taiga (estimate).",
         both=False)
    rail("Krasnoyarsk", "Vladivostok", 5190, "9,259 − 4,065 ≈5,190 km (RailDistances).",
         both=False, dist_src="RailDistances")
    if DEMAND_SIDE:
        rail("Glazov", "Volgodonsk", 2300, "Glazov–Moscow ≈1,150 km + Moscow–Volgodonsk ≈1,150 "
             "km (estimates): magnets to the generator line.", both=False,
             prods="NdFeB_magnet")
    # Export sea legs
    add("Vladivostok", "China", "sea", 1900, 60, 0,
        "Dry container ≈60 USD/t to Dalian: the Russian Far East quote is 74 USD/t in a reefer "
        "(FSARF2024_freight), dry boxes are cheaper (estimate). Russia-origin quote: no "
        "extra sanctions premium.", source="FSARF2024_freight")
    add("Vladivostok", "Korea", "sea", 950, 50, 0,
        "≈50 USD/t to Busan: 65 USD/t reefer (FSARF2024_freight), 40-60 USD/t dry (estimate). "
        "Russia-origin quote: no extra premium.", source="FSARF2024_freight")
    add("Vladivostok", "Japan", "sea", 1800, 65, 0,
        "≈65 USD/t to Yokohama, mid of the 50-80 USD/t estimate for Japan/Korea from "
        "Vladivostok (assumption; FSARF2024_freight gives 65 to Busan).")
    add("Vladivostok", "USA", "sea", 8600, 200, 0,
        "Trans-Pacific ≈100 USD/t (WCI-type rates 110-140 USD/t Asia-Europe, Drewry2025_WCI) "
        "x2 Russia-linked sanctions premium (MoscowTimes2025_premium: ≈3x; assumption x2).",
        source="Drewry2025_WCI,MoscowTimes2025_premium")
    add("St_Petersburg", "EU", "sea", 2200, 120, 0,
        "Baltic feeder ≈60 USD/t (estimate 40-80 USD/t) x2 sanctions premium "
        "(MoscowTimes2025_premium; assumption) ≈120 USD/t, consistent with the 100-150 USD/t "
        "estimate for Europe.")
    add("St_Petersburg", "Sillamae", "sea", 170, 80, 0,
        "Short-sea/feeder to Sillamäe ≈40 USD/t x2 sanctions premium (assumptions).")
    return rows


# --- markets --------------------------------------------------------------------------------
# Russian demand (t REO): 1,420 t in 2023 → 3,000 t in 2030 (TAdviser_REM), linear; split by use
DOMESTIC_TOTAL = {2026: 2100, 2027: 2330, 2028: 2550, 2029: 2770, None: 3000}
DOMESTIC_SPLIT = {"La_oxide": 0.31, "Ce_oxide": 0.38, "NdPr_oxide": 0.19, "SEGY_oxide": 0.11,
                  "DyTb_oxide": 0.01}
FOREIGN_SHARE = 0.10  # modelling choice: Russia can win at most 10 % of a foreign segment
FOREIGN_MIX = {"La_oxide": 0.25, "Ce_oxide": 0.35, "NdPr_oxide": 0.25, "DyTb_oxide": 0.01,
               "SEGY_oxide": 0.14}  # assumption: composition of REE imports by product
JAPAN_T = 16_039  # JapanMetalDaily2022
KOREA_MAGNET_T = 8_000  # KITA2022_Korea: ≈US$526 M/yr of magnet imports at ≈65 USD/kg (2022)
EX_CHINA = {  # the 2025-26 ex-China quotes (USD/t), SMM_overseas_Dec2025
    "fob": 126_000,  # Nd oxide fob 116-136 (Dec 2025); 128-148 in Jan 2026
    "cif": 175_000,  # cif Rotterdam 165-185 (Dec 2025); 180-200 in Jan 2026
}
EX_CHINA_CAPS = {"Japan": 400, "Korea": 125, "EU": 320}  # 10 % x imports x 25 % NdPr
ELASTICITY = -0.5  # assumption, see price_response()
# Oxide-grade Nb2O5 outlets: 10 % of the ≈10.7 kt/yr used outside steel (MMTA_Nb), by place
NB_OXIDE_CAPS = {"China": 400, "Japan": 200, "Korea": 100, "USA": 200, "RU_domestic": 200}
DOM_SRC = {"La_oxide": "SMM_overseas_Jan2026", "Ce_oxide": "SMM_overseas_Jan2026",
           "NdPr_oxide": "SMM2025_Dec", "SEGY_oxide": "SMM2025_Y",
           "DyTb_oxide": "SMM_overseas_Jan2026,SMM2025_DyTb"}
CHINA_SRC = {"La_oxide": "SMM2025_LaCe", "Ce_oxide": "SMM2025_LaCe", "NdPr_oxide": "SMM2025_Dec",
             "DyTb_oxide": "SMM2025_DyTb", "NdPr_metal": "SMM2025_Dec,Cnyes2026_Baotou"}
# China's market sizes for the price-response rows (t/yr of product)
CHINA_SIZE = {
    "tomtor_ore": (133_000, "China's RE imports 132,931 t in 2024 (Reuters2025_ChinaImports)"),
    "carbonate_loparite": (133_000, "China's RE imports 132,931 t in 2024 "
                           "(Reuters2025_ChinaImports)"),
    "carbonate_tomtor": (133_000, "China's RE imports 132,931 t in 2024 "
                         "(Reuters2025_ChinaImports)"),
    "La_oxide": (68_000, "25 % La x China's 270 kt REO mine output (USGS_MCS2025_REE)"),
    "Ce_oxide": (120_000, "45 % Ce x China's 270 kt REO (USGS_MCS2025_REE)"),
    "NdPr_oxide": (91_000, "0.37 t oxide per t magnet x ≈246 kt NdFeB (Adamas2023_NdFeB)"),
    "NdPr_metal": (74_000, "0.30 t metal per t magnet x ≈246 kt NdFeB (Adamas2023_NdFeB)"),
    "DyTb_oxide": (3_000, "0.012 t per t magnet x ≈246 kt NdFeB (Adamas2023_NdFeB)"),
    "SEGY_oxide": (27_000, "≈10 % SEG+Y x China's 270 kt REO (USGS_MCS2025_REE)"),
    "Nb2O5": (11_000, "≈10 % of ≈75 kt/yr Nb used outside steel (MMTA_Nb), as Nb2O5"),
    "Sc2O3": (40, "≈40 t/yr world scandium demand (MGR2024_scandium)"),
}


def dom_price(p: str) -> float:
    """Import parity: the export price x1.1 (Dy/Tb: the ex-China price x1.05 by rail)."""
    if p == "DyTb_oxide":
        return sig(DYTB_EXCN * 1.05)
    return sig(EXPORT[p] * DOMESTIC_MARKUP)


def price_response(row: dict, size: float, why: str, eps: float = ELASTICITY) -> dict:
    """Add the MODEL.md §2.1 price response to a sell row (only with DEMAND_SIDE)."""
    if not DEMAND_SIDE:
        return row
    row["elasticity"], row["market_size_t"] = eps, size
    row["note"] += (f" Price response: market size {size:,} t/yr = {why}; elasticity {eps} "
                    "(assumption: rare-earth demand is price-inelastic in the short run, the "
                    "oxides being a small share of the cost of what they go into; Russian "
                    "tonnes move the price along a linear curve).")
    return row


def markets() -> list[dict]:
    rows: list[dict] = []

    def add(market, node, product, direction, scope, price, max_t=None, year=None,
            source=A, note=""):
        row = dict(market=market, node=node, product=product, direction=direction,
                   scope=scope, year=year, price_usd_per_t=price, min_t=0, max_t=max_t,
                   source=source, note=note)
        rows.append(row)
        return row

    # Domestic demand at Moscow (import parity prices)
    for prod, share in DOMESTIC_SPLIT.items():
        for year, total in DOMESTIC_TOTAL.items():
            cap = rnd(total * share, 10)
            add("RU_domestic", "Moscow", prod, "sell", "domestic", dom_price(prod), cap, year,
                source=A if prod == "SEGY_oxide" else "TAdviser_REM," + DOM_SRC[prod],
                note=("2030+ level" if year is None else f"{year} on the ramp")
                + ": Russian REM demand 1,420 t (2023) → 3,000 t (2030) (TAdviser_REM), "
                f"linear; share {share:.0%} by use (assumption: catalysts La/Ce/Y, glass Ce, "
                f"renewables Nd/Sm). Price = {PRICE_NOTE[prod]} x1.1 import parity "
                "(assumption)" + (" x1.05 rail from China instead" if prod == "DyTb_oxide"
                                  else "") + ".")
    add("RU_domestic", "Moscow", "NdFeB_magnet", "sell", "domestic",
        sig(MAGNET_EXPORT * DOMESTIC_MARKUP), 1000,
        source="Magnetconf2024_Glazov,Adamas2024_magnets",
        note="Domestic magnet demand ≈1,000 t/yr: the Glazov plant's 1,000 t 'almost fully "
        "meets current domestic needs' (Magnetconf2024_Glazov). Price = China's 2024 export "
        "value 49 USD/kg (Adamas2024_magnets; Jan-Aug 2024 51.4, Metalnomist2024_magnets) x1.1 "
        "import parity (assumption). The old 66 USD/kg is scenario magnet_price_old.")
    add("RU_domestic", "Moscow", "Nb2O5", "sell", "domestic", sig(NB_OXIDE * DOMESTIC_MARKUP),
        NB_OXIDE_CAPS["RU_domestic"], source="Argus2024_columbite",
        note="Russian users of niobium oxide (Nb metal, superalloys, optics, capacitors): cap "
        "200 t/yr (assumption). Price = the oxide-grade basis (see China Nb2O5) x1.1.")
    add("RU_FeNb", "Moscow", "Nb2O5", "sell", "domestic", NB_FENB_FEED, 3000,
        source="USGS_MCS2021_Nb,Argus2020_FeNb,MMTA_Nb,Cyberleninka_Nb",
        note="Nb2O5 sold to a Russian ferroniobium maker (the Klyuchevsky ferroalloy works "
        "makes FeNb from Tatarskoye pyrochlore, Cyberleninka_Nb) for steel. Price = FeNb-"
        "equivalent value ≈26 USD/kg Nb2O5 (FeNb unit value 20-24 USD/kg in 2016-20, "
        "USGS_MCS2021_Nb; 17.35-18.10 USD/lb Nb in Jan 2020, Argus2020_FeNb; niobium prices "
        "are 'remarkably stable', MMTA_Nb) less ≈2 USD/kg for the aluminothermic step "
        "(assumption). Cap 3,000 t/yr: Russian steel ≈70 Mt x ≈40 g Nb/t ≈2.8 kt Nb "
        "(assumption).")
    # Imports (buy rows) at Moscow: import parity slightly above the domestic selling price
    add("RU_imports", "Moscow", "NdPr_oxide", "buy", "import",
        sig(NDPR_OX_CN * DOMESTIC_MARKUP * 1.02), 1000,
        source="SMM2025_Dec,Interfax2025_importdependence,VIMS2021",
        note="Russia imports ≈75 % of its REM (Interfax2025_importdependence), mostly from "
        "China: 74 USD/kg (SMM2025_Dec) x1.1 freight +2 % importer's margin so that imports "
        "are never re-sold at the domestic price (assumption). Cap 1,000 t/yr: all Russian "
        "RE product imports were 1,100-1,330 t/yr in 2019-20 (VIMS2021).")
    add("RU_imports", "Moscow", "DyTb_oxide", "buy", "import",
        sig(DYTB_EXCN * 1.05 * 1.02), 50,
        source="SMM_overseas_Jan2026,AdamasMOFCOM2025,Jamestown2026",
        note="Imports from China under MOFCOM licences since Apr 2025 (AdamasMOFCOM2025), at "
        "the ex-China price (China gives Russia no preferential treatment, Jamestown2026): "
        f"{DYTB_EXCN / 1000:g} USD/kg x1.05 rail +2 % (assumption). Cap 50 t/yr, a few magnet "
        "lines' worth under licensing (assumption). Scenario dytb_import_ban closes it.")

    # China: the price-setting market (Chinese domestic prices ex-VAT)
    china = [
        ("tomtor_ore", A, "Raw ore export lane: ≈35 % of the concentrate-indexed value of its "
         f"REO (see carbonate_tomtor), ≈{P['tomtor_ore'] / 1000 / TOMTOR_TREO:.1f} USD/kg REO, "
         "for an unbeneficiated ore carrying Th and U; Nb and Sc not paid (assumption). "
         "Baotou 50 % concentrate was 4.9-7.9 USD/kg REO in 2021-22 (Chinatungsten2022)."),
        ("carbonate_loparite", "Cnyes2026_Baotou,Gubit2024_NREconc",
         f"Indexed to the Chinese concentrate price: Northern Rare Earth paid {CONC_Q1_2026:,.0f} "
         "USD/t REO for its 50 % concentrate in Q1 2026 (Cnyes2026_Baotou; "
         f"{CONC_Q3_2024:,.0f} in Q3 2024, Gubit2024_NREconc), {CONC_RATIO:.2f} of the "
         "separated value of a light-REE basket at the Jan 2026 Baotou NdPr price. Loparite "
         f"carbonate = {CONC_RATIO:.2f} x its basket at base prices + 1 USD/kg REO cracking "
         f"margin (assumption) = {CARB_LOP_REO / 1000:.1f} USD/kg REO x 0.43."),
        ("carbonate_tomtor", "Cnyes2026_Baotou,Gubit2024_NREconc",
         f"As loparite carbonate, on the Tomtor basket (richer in Dy/Tb and Y): "
         f"{CARB_TOM_REO / 1000:.1f} USD/kg REO x 0.43."),
        ("La_oxide", "SMM2025_LaCe", f"La oxide 4,200-4,700 CNY/t incl. VAT ≈{LA_CN} USD/t "
         "ex-VAT: China is oversupplied."),
        ("Ce_oxide", "SMM2025_LaCe", f"Ce oxide 11,000-13,000 CNY/t incl. VAT ≈{CE_CN} USD/t "
         "ex-VAT."),
        ("NdPr_oxide", "SMM2025_Dec", "Pr-Nd oxide 592-595 kCNY/t incl. VAT on 25 Dec 2025 ≈74 "
         "USD/kg ex-VAT (55 in Mar 2025, SMM2025_Mar; 84 on 22 Jan 2026, SMM2026_Jan; Baotou "
         "78 on 9 Jan 2026, Cnyes2026_Baotou)."),
        ("DyTb_oxide", "SMM2025_DyTb", f"80 % Dy at ≈{DY_CN / 1000:.0f} + 20 % Tb at "
         f"≈{TB_CN / 1000:.0f} USD/kg ex-VAT (2025 mids of Dy 1.33-1.72 M and Tb 6.0-7.15 M "
         "CNY/t)."),
        ("SEGY_oxide", A, f"Unseparated Sm/Eu/Gd/Y lump at half its contained value "
         f"(assumption): contained ≈{SEGY_CONTAINED / 1000:.1f} USD/kg from Y ≈7.0 (SMM2025_Y), "
         f"Gd ≈22 (SMM2026_Jan), Eu 31 (USGS_MCS2021_REE), Sm ≈2 (assumption) in the Tomtor "
         "proportions, the rest unpaid."),
        ("NdPr_metal", "SMM2025_Dec,Cnyes2026_Baotou", "NdPr oxide price x1.22, the Baotou "
         "metal/oxide ratio of 9 Jan 2026 (760.7 / 624.9 kCNY/t)."),
    ]
    for prod, src, why in china:
        row = add("China", "China", prod, "sell", "export", P[prod], None, source=src,
                  note=why + " No cap: Russian volumes are small against China's market.")
        price_response(row, *CHINA_SIZE[prod])
    row = add("China", "China", "Nb2O5", "sell", "export", NB_OXIDE, NB_OXIDE_CAPS["China"],
              source="Argus2024_columbite,Metalnomist2025_Nb",
              note="Oxide-grade niobium at the 2024 columbite basis: 18.20 USD/lb cif "
              "(Argus2024_columbite) read per lb of contained Nb2O5 ≈40 USD/kg (inference; "
              "50 % Nb concentrate 19-20 USD/lb cif, Metalnomist2025_Nb). Caps on the "
              "oxide-grade rows (China 400, Japan 200, Korea 100, USA 200 t/yr) = a 10 % share "
              "(modelling choice, as for every foreign market) of the ≈10.7 kt/yr of Nb2O5 "
              "used outside steel (≈10 % of world niobium use, MMTA_Nb); the rest must go to "
              "ferroniobium makers (China_FeNb, RU_FeNb) at the FeNb-equivalent value.")
    price_response(row, *CHINA_SIZE["Nb2O5"])
    row = add("China_FeNb", "China", "Nb2O5", "sell", "export", NB_FENB_FEED, 5000,
              source="USGS_MCS2021_Nb,Argus2020_FeNb,MMTA_Nb",
              note="Nb2O5 sold to Chinese ferroniobium makers at the FeNb-equivalent value "
              "less the conversion (see RU_FeNb). Cap 5,000 t/yr (assumption: ≈5 % of world "
              "niobium use, USGS_Nb2023).")
    price_response(row, 107_000, "≈75 kt/yr Nb used worldwide (MMTA_Nb) as Nb2O5")
    add("China", "China", "Ta2O5", "sell", "export", TA2O5, None, source="Argus2025_Ta2O5",
        note="Ta2O5 99.5 % 1,790-1,810 CNY/kg incl. VAT in China, Apr 2025 ≈220 USD/kg ex-VAT. "
        "Tens of tonnes a year: no cap.")
    row = add("China", "China", "Sc2O3", "sell", "export", SC2O3, 0, source="MGR2024_scandium",
              note="Crude scandium oxide at 1,500 USD/kg, about a third of the 3,500-4,800 "
              "USD/kg quoted for 99.99 % oxide (MGR2024_scandium, a weak aggregator; the "
              "discount is an assumption). Closed in the base case (max_t 0): one Tomtor train "
              "would make ≈20 t/yr against ≈40 t/yr of world demand that existing producers "
              "serve, and no offtake or refining route is public; scenario tomtor_scandium "
              "opens 10 t/yr. Unsold scandium is stockpiled at no cost.")
    price_response(row, *CHINA_SIZE["Sc2O3"])

    def foreign(market, node, total, src, why, price_factor=1.0, extra=""):
        for prod, mix in FOREIGN_MIX.items():
            cap = rnd(FOREIGN_SHARE * total * mix, 5)
            price = sig(EXPORT[prod] * price_factor)
            row = add(market, node, prod, "sell", "export", price, cap,
                      source=A if prod == "SEGY_oxide" else src + "," + DOM_SRC[prod],
                      note=f"Cap = 10 % share (modelling choice) x {total:,} t/yr {why} x "
                      f"{mix:.0%} product mix (assumption). Price: {PRICE_NOTE[prod]}."
                      + extra)
            price_response(row, rnd(total * mix, 10), f"{total:,} t/yr x {mix:.0%}")

    foreign("Japan", "Japan", JAPAN_T, "JapanMetalDaily2022",
            "Japanese rare-earth demand 2022 (JapanMetalDaily2022; 9.9 kt imported in H1 2024, "
            "Metalnomist2024_Japan)")
    add("Japan", "Japan", "NdPr_metal", "sell", "export", P["NdPr_metal"], 200,
        source="SMM2025_Dec,Cnyes2026_Baotou",
        note="Japanese magnet makers buy metal; cap 200 t/yr (assumption).")
    add("Japan", "Japan", "Nb2O5", "sell", "export", NB_OXIDE, NB_OXIDE_CAPS["Japan"],
        source="Argus2024_columbite,MMTA_Nb",
        note="Japanese oxide users; cap: see China Nb2O5. Price: see China Nb2O5.")
    foreign("Korea", "Korea", 5000, "KoreaTimes_KSM",
            "Korean demand proxy (KSM Metals 5-10 kt/yr metal capacity)")
    add("Korea", "Korea", "Nb2O5", "sell", "export", NB_OXIDE, NB_OXIDE_CAPS["Korea"],
        source="Argus2024_columbite,MMTA_Nb", note="Korean oxide users; cap: see China Nb2O5.")
    row = add("Korea", "Korea", "NdFeB_magnet", "sell", "export", MAGNET_EXPORT,
              rnd(FOREIGN_SHARE * KOREA_MAGNET_T, 10), source="KITA2022_Korea,Adamas2024_magnets",
              note="Korean magnet imports US$394.5 M in Jan-Sep 2022, 87 % from China "
              "(KITA2022_Korea) ≈US$0.5 bn/yr ≈8,000 t/yr at 2022 prices (inference). Cap 10 % "
              "(modelling choice). Price: China's 2024 export value (Adamas2024_magnets).")
    price_response(row, KOREA_MAGNET_T, "Korean magnet imports (KITA2022_Korea)")
    foreign("EU", "EU", 12900, "Eurostat2024_EU", "EU REE imports 2024 (Eurostat2024_EU)",
            extra=" Open in the base case: CRMs are not sanctioned (InvestigateEurope2023); "
            "scenario sanctions_eu_us_closed closes it (Eurotoday2026_ban).")
    add("EU", "EU", "NdPr_metal", "sell", "export", P["NdPr_metal"], 300,
        source="FDI_NeoNarva,SMM2025_Dec",
        note="EU magnet makers (Neo Narva 2,000 t/yr, FDI_NeoNarva); cap 300 t/yr (assumption).")
    row = add("EU", "EU", "NdFeB_magnet", "sell", "export", MAGNET_EXPORT, 2000,
              source="ECA2026_magnets,Adamas2024_magnets",
              note="Cap = 10 % of 20,000 t magnets used by EU industry (ECA2026_magnets). "
              "Price: China's 2024 export value 49 USD/kg (Adamas2024_magnets).")
    price_response(row, 20_000, "EU magnet use 2024 (ECA2026_magnets)")
    add("EU_Silmet", "Sillamae", "carbonate_loparite", "sell", "export",
        P["carbonate_loparite"], 6500, source="Quartz2022_Silmet,VIMS2021,Cnyes2026_Baotou",
        note="SMZ → Silmet carbonate arc (70 % of Silmet feed, Quartz2022_Silmet): 5.4-6.5 kt "
        "product/yr exported in 2019-21 (VIMS2021); Silmet separates ≈3,000 t/yr "
        "(Argus2023_Silmet). Price as China (assumption). Open but at risk. No Nb2O5 row: Silmet "
        "stopped processing Nb/Ta ores (MRO2023_Silmet).")
    usd = 1 / (1 + US_DUTY)
    for prod, cap in (("La_oxide", 250), ("Ce_oxide", 400), ("NdPr_oxide", 150),
                      ("DyTb_oxide", 10)):
        add("USA", "USA", prod, "sell", "export", sig(EXPORT[prod] * usd), cap,
            source="Proclamation10420,USGS_MCS2019," + DOM_SRC[prod],
            note="Netback after the 35 % US duty on Russian minerals/metals/chemicals "
            "(Proclamation10420; coverage of HTS 2846 not verified). Cap ≈10 % of 9,500 t REO "
            "US consumption (USGS_MCS2019) by product (catalysts 75 % → La/Ce; modelling "
            "choice).")
    add("USA", "USA", "NdFeB_magnet", "sell", "export", sig(MAGNET_EXPORT * usd), 1000,
        source="Proclamation10420,Adamas2024_magnets",
        note="Netback after the 35 % duty (Proclamation10420). Cap 1,000 t/yr (assumption).")
    add("USA", "USA", "Nb2O5", "sell", "export", sig(NB_OXIDE * usd), NB_OXIDE_CAPS["USA"],
        source="Proclamation10420,USGS_MCS2021_Nb,Argus2024_columbite",
        note="Russia supplied 19 % of US niobium-oxide imports in 2016-19 (USGS_MCS2021_Nb). "
        "Netback after the 35 % duty. Cap: see China Nb2O5.")
    # The 2025-26 ex-China premium: separate markets, closed in the base case
    for market, node, basis, size in (("Japan_exChina", "Japan", "fob", JAPAN_T),
                                      ("Korea_exChina", "Korea", "fob", 5000),
                                      ("EU_exChina", "EU", "cif", 12900)):
        for prod, factor in (("NdPr_oxide", 1.0), ("NdPr_metal", METAL_TO_OXIDE)):
            row = add(market, node, prod, "sell", "export", sig(EX_CHINA[basis] * factor), 0,
                      source="SMM_overseas_Dec2025,SMM_overseas_Jan2026",
                      note=f"Ex-China price, {basis}: Nd oxide {basis} "
                      + ("116-136" if basis == "fob" else "165-185 cif Rotterdam")
                      + " USD/kg in Dec 2025 ("
                      + ("128-148" if basis == "fob" else "180-200") + " in Jan 2026), "
                      "≈1.7-2.4x the Chinese price, after China's 2025 export licensing. "
                      + ("Metal at the Baotou metal/oxide ratio 1.22. " if factor != 1 else "")
                      + "Closed in the base case (max_t 0): a 2025-26 premium is not a "
                      "15-year price; scenario ex_china_premium opens it.")
            price_response(row, rnd(size * FOREIGN_MIX["NdPr_oxide"], 10),
                           f"{size:,} t/yr x 25 % NdPr")
    if DEMAND_SIDE:
        row = add("RU_new_demand", "Moscow", "NdFeB_magnet", "sell", "domestic", MAGNET_EXPORT,
                  None, source="Magnetconf2024_Glazov,Adamas2024_magnets",
                  note="Demand beyond today's 1,000 t/yr (motors, generators and drives now "
                  "imported inside finished goods): users buy at China's export value 49 "
                  "USD/kg, not at import parity, so it pays only with demand support "
                  "(scenario demand_stimulation).")
        price_response(row, 1000, "a second 1,000 t/yr of possible domestic use (assumption)",
                       eps=-1.0)
        row = add("RU_wind", "Volgodonsk", "wind_generator_MW", "sell", "domestic", 225_000,
                  None, source="Evwind2020_Marchenkovskaya,Interfax2024_NovaWind",
                  note="Direct-drive generators for Rosatom's wind farms, per MW: ≈15 % "
                  "(assumption) of a wind farm's ≈1.5 MUSD/MW (Marchenkovskaya 120 MW for >16 "
                  "bn RUB, Evwind2020_Marchenkovskaya).")
        price_response(row, 250, "≈250 MW/yr, Rosatom's pace from 1 GW operating to a 1.7 GW "
                       "portfolio (Interfax2024_NovaWind)", eps=-4.0)
    return rows


# --- policy: neutral rows for every lever the scenarios move ------------------------------
SUBSIDY_PROCESSES = ("tomtor_mining", "lovozero_mining", "sep_loparite", "sep_tomtor",
                     "ndpr_metal", "magnet_making")
# The paper's Chinese compensation (CNY per t) -> USD per t of activity
CHINA_STYLE = {"tomtor_mining": 1000, "lovozero_mining": 1000, "sep_loparite": 1500,
               "sep_tomtor": 1500, "ndpr_metal": 500}
LARGE_SUBSIDY = {"sep_loparite": 2000, "sep_tomtor": 2000, "ndpr_metal": 2000,
                 "magnet_making": 5000}


def policy() -> list[dict]:
    def row(instrument, target, value, note, source=A):
        return dict(instrument=instrument, target=target, year=None, value=value,
                    source=source, note=note)

    rows = [
        row("export_duty_rate", None, 0, "No general export duty on RE products: the 2023-24 "
            "RUB-linked 0-7 % duty list did not name RE products (TASS2023_exportduty). Lever "
            "for scenario duty_fx_linked_7.", source="TASS2023_exportduty"),
        row("export_duty_rate", "stage<=1", 0, "Ore and concentrate: no duty in the base "
            "case (TASS2023_exportduty). Lever for scenario ore_export_duty_30.",
            source="TASS2023_exportduty"),
        row("export_duty_rate", "stage<=2", 0, "Ore, concentrate and mixed compounds "
            "(carbonate, the 'collective concentrate' SMZ exports): no duty "
            "(TASS2023_exportduty). Lever for concentrate_export_duty_30.",
            source="TASS2023_exportduty"),
        row("import_duty_rate", None, 0, "No import duty on RE imports (assumption). Lever for "
            "scenario import_duty_10."),
        row("export_quota_t", "stage<=2", None, "Blank = no quota. Lever for "
            "concentrate_export_ban (quota 0)."),
    ]
    for proc in SUBSIDY_PROCESSES:
        rows.append(row("processing_subsidy_usd_per_activity", proc, 0,
                        "No per-tonne support today. Lever for china_style_subsidy and "
                        "processing_subsidy_large."))
    rows += [
        row("capex_relief_rate", "technopark", 0, "Lever for technopark_capex_relief."),
        row("capex_relief_rate", "mine", 0, "Lever for mine_capex_relief (SPIC-type support "
            "for Tomtor)."),
        row("min_domestic_processing_share", "3", 0, "Lever for domestic_processing_50: share "
            "of REO sold that must be stage >= 3 or sold at home."),
        row("investment_budget_musd", None, None, "Blank = no budget over the horizon. Lever "
            "for sweeps, e.g. --set \"Policy|investment_budget_musd||:value=300:1500:5\"."),
    ]
    if DEMAND_SIDE:
        for prod in ("NdFeB_magnet", "wind_generator_MW"):
            rows.append(row("domestic_demand_support_usd_per_t", prod, 0,
                            "No demand support today (neutral). Lever for demand_stimulation: "
                            "the state pays per tonne (per MW for generators) sold at home."))
    return rows


# --- scenarios ------------------------------------------------------------------------------
def _carbonate_factor(ndpr_factor: float) -> float:
    """How much the indexed carbonate prices move when the NdPr price moves."""
    def carb(split, f):
        return CONC_RATIO * basket(split, ndpr=NDPR_OX_CN * f) + CRACK_MARGIN
    return round(carb(LOPARITE_SPLIT, ndpr_factor) / carb(LOPARITE_SPLIT, 1.0), 2)


def scenarios() -> list[dict]:
    rows: list[dict] = []

    def add(scenario, sheet, key, column, value=None, factor=None, note="", source=A):
        rows.append(dict(scenario=scenario, sheet=sheet, key=key, column=column, value=value,
                         factor=factor, source=source, note=note))

    # --- export restrictions and duties
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
        note="Duty regime for robust runs: 7 % on all exports ...",
        source="TASS2023_exportduty")
    add("duty_fx_linked_7_raw_30", "Policy", "export_duty_rate|stage<=2|", "value", 0.3,
        note="... and 30 % on raw exports (the highest rate applies).")
    add("import_duty_10", "Policy", "import_duty_rate||", "value", 0.1,
        note="10 % duty on RE imports (protects domestic producers; assumption).")
    # --- state support
    for proc, cny in CHINA_STYLE.items():
        add("china_style_subsidy", "Policy", f"processing_subsidy_usd_per_activity|{proc}|",
            "value", rnd(cny / CNY_PER_USD, 1),
            note=f"China's one-off compensation as the project's source paper gives it (no "
            f"public address; quoted in ree-facts-3.md §2.6): {cny:,} CNY ≈"
            f"{rnd(cny / CNY_PER_USD, 1)} USD per t of activity (mining: per t mined, counted "
            "per t of Lovozero concentrate; beneficiation and separation: per t REO "
            "separated; REM production: per t oxide metallised).")
    for proc, v in LARGE_SUBSIDY.items():
        add("processing_subsidy_large", "Policy", f"processing_subsidy_usd_per_activity|{proc}|",
            "value", v, note=f"A large per-tonne processing subsidy: {v:,} USD per t of "
            "activity, ≈10x China's compensation in the paper (not 'China-style'; the "
            "figures of the first data set, relabelled).")
    add("technopark_capex_relief", "Policy", "capex_relief_rate|technopark|", "value", 0.3,
        note="30 % of capex at technoparks paid by the state (localisation incentive; "
        "assumption).")
    add("mine_capex_relief", "Policy", "capex_relief_rate|mine|", "value", 0.3,
        note="30 % capex relief for mines (SPIC-type agreement for Tomtor; assumption).")
    add("domestic_processing_50", "Policy", "min_domestic_processing_share|3|", "value", 0.5,
        note="At least 50 % of the REO sold must be separated (stage >= 3) or sold at home.")
    # --- markets: the ex-China premium and sanctions
    for market, cap in EX_CHINA_CAPS.items():
        add("ex_china_premium", "Markets", f"{market}_exChina|NdPr_oxide|sell|export|",
            "max_t", cap, source="SMM_overseas_Dec2025",
            note=f"Open the ex-China NdPr market in {market}: {cap:,} t/yr (10 % of its REE "
            "imports x 25 % NdPr) at the Dec 2025 fob/cif quotes.")
    for market in ("Japan", "EU"):
        add("ex_china_premium", "Markets", f"{market}_exChina|NdPr_metal|sell|export|",
            "max_t", 200 if market == "Japan" else 300, source="SMM_overseas_Dec2025",
            note="... and the ex-China NdPr metal segment (caps as the base metal rows).")
    f_prem = round(EX_CHINA["fob"] / NDPR_OX_CN, 2)
    add("ex_china_premium", "Markets", "RU_domestic|NdPr_oxide|sell|domestic|*",
        "price_usd_per_t", factor=f_prem, source="SMM_overseas_Dec2025,Jamestown2026",
        note=f"Russian import parity follows the ex-China price (x{f_prem}: China gives Russia "
        "no preferential treatment, Jamestown2026) ...")
    add("ex_china_premium", "Markets", "RU_imports|NdPr_oxide|buy|import|",
        "price_usd_per_t", factor=f_prem, source="SMM_overseas_Dec2025",
        note="... and so do NdPr imports.")
    west = ("EU", "EU_Silmet", "USA", "EU_exChina")
    for market in west:
        add("sanctions_eu_us_closed", "Markets", f"{market}|*|sell|export|*", "max_t", 0,
            note="EU and US close to Russian RE products (proposed EU ban, Eurotoday2026_ban; "
            "US 35 % duty or ban, Proclamation10420).", source="Eurotoday2026_ban")
    for market in west + ("Japan", "Korea", "Japan_exChina", "Korea_exChina"):
        add("sanctions_west_closed", "Markets", f"{market}|*|sell|export|*", "max_t", 0,
            note="Every market outside China and Russia closes (EU ban proposed, "
            "Eurotoday2026_ban; Japan and Korea follow): Russia sells abroad only to China.",
            source="Eurotoday2026_ban")
    add("dytb_import_ban", "Markets", "RU_imports|DyTb_oxide|buy|import|", "max_t", 0,
        note="China stops licensing Dy/Tb exports to Russia (AdamasMOFCOM2025).",
        source="AdamasMOFCOM2025")
    add("dytb_price_spike", "Markets", "*|DyTb_oxide|*|*|*", "price_usd_per_t", factor=2.5,
        note="Ex-China Dy/Tb spike after China's Apr 2025 licensing (Argus2025_DyTb: Dy 250-310 "
        "→ 700-1,000, Tb 930-1,000 → 2,000-4,000 USD/kg).", source="Argus2025_DyTb")
    # --- prices
    for tag, f_ox, why in (
        ("ndpr_price_high", 1.4, "≈104 USD/kg NdPr oxide, between Jan 2026 (84, SMM2026_Jan) "
         "and the 2022 peak (≈140)"),
        ("ndpr_price_low", 0.7, "≈52 USD/kg NdPr oxide, the 2024 level (Fastmarkets2024 50-55)"),
    ):
        src = "SMM2026_Jan" if f_ox > 1 else "Fastmarkets2024"
        for prod in ("NdPr_oxide", "NdPr_metal"):
            add(tag, "Markets", f"*|{prod}|*|*|*", "price_usd_per_t", factor=f_ox, source=src,
                note=f"NdPr price x{f_ox}: {why}.")
        f_mag = round((MAGNET_EXPORT + 0.37 * NDPR_OX_CN * (f_ox - 1)) / MAGNET_EXPORT, 2)
        add(tag, "Markets", "*|NdFeB_magnet|*|*|*", "price_usd_per_t", factor=f_mag,
            note=f"Magnets x{f_mag}: their NdPr content (0.37 t oxide per t) passed through.")
        f_carb = _carbonate_factor(f_ox)
        for prod in ("carbonate_loparite", "carbonate_tomtor", "tomtor_ore"):
            add(tag, "Markets", f"*|{prod}|*|*|*", "price_usd_per_t", factor=f_carb,
                note=f"Carbonate and ore x{f_carb}: the concentrate index follows NdPr.")
    for r in [r for r in rows if r["scenario"] == "ndpr_price_high"]:
        rows.append({**r, "scenario": "ndpr_price_high_winter_road_late"})
    add("ndpr_price_high_winter_road_late", "Routes", "Tomtor|Anabar_Bay|winter_road",
        "first_year", NSR_FIRST_YEAR + 2,
        note="winter_road_late on top of ndpr_price_high.")
    add("magnet_price_old", "Markets", "*|NdFeB_magnet|*|*|*", "price_usd_per_t",
        factor=round(60 / 49, 4), source="Adamas2024_magnets",
        note="The first data set's magnet prices: 60 USD/kg export, 66 domestic (x60/49), "
        "≈what passing the late-2025 NdPr price through to magnets would give.")
    for market in ("China", "Japan", "Korea", "USA", "RU_domestic"):
        add("nb2o5_ferroniobium_basis", "Markets", f"{market}|Nb2O5|sell|*|*",
            "price_usd_per_t", factor=round(NB_FENB_EQ / NB_OXIDE, 2),
            source="USGS_MCS2021_Nb",
            note="Oxide-grade Nb2O5 at the first data set's FeNb-equivalent basis (≈26 USD/kg, "
            "USGS 2016-20 unit values) instead of the 2024 columbite basis.")
    f_c24 = round((CONC_Q3_2024 / CONC_Q1_2026 * (CARB_LOP_REO - CRACK_MARGIN) + CRACK_MARGIN)
                  / CARB_LOP_REO, 2)
    for prod in ("carbonate_loparite", "carbonate_tomtor", "tomtor_ore"):
        add("carbonate_2024_basis", "Markets", f"*|{prod}|*|*|*", "price_usd_per_t",
            factor=f_c24, source="Gubit2024_NREconc",
            note=f"Carbonate and ore at the Q3 2024 concentrate price (16,741 instead of "
            f"26,834 CNY/t, Gubit2024_NREconc): x{f_c24}.")
    # --- supply: Lovozero, SMZ, Tomtor
    for year, cap in LOVOZERO_PROGRAMME.items():
        add("lovozero_programme_12kt", "NodeProcesses",
            f"Lovozero|lovozero_mining|{'' if year is None else year}", "existing_capacity",
            cap, source="Murmantv_LGOK12kt,Sdelanounas2025_LGOK",
            note="Rosatom's programme as a committed ramp to 12 kt/yr by 2030 "
            "(Murmantv_LGOK12kt), paid outside the model like the other committed projects.")
    for year in (None, 2026, 2027, 2028, 2029):
        add("lovozero_at_2024_output", "NodeProcesses",
            f"Lovozero|lovozero_mining|{'' if year is None else year}", "existing_capacity",
            6500, source="Prometall2025_LGOK",
            note="Lovozero at its probable 2024 output: 13 % less feed than in 2023 "
            "(Prometall2025_LGOK); ≈6.5 kt is an inference.")
    add("winter_road_late", "Routes", "Tomtor|Anabar_Bay|winter_road", "first_year",
        NSR_FIRST_YEAR + 2, note="Tomtor winter road opens two years late (2032).")
    add("tomtor_scandium", "Markets", "China|Sc2O3|sell|export|", "max_t", 10,
        source="MGR2024_scandium", note="Open a scandium offtake of 10 t/yr, a quarter of the "
        "≈40 t/yr world demand (MGR2024_scandium), at 1,500 USD/kg.")
    add("ndpi_full_rate", "Deposits", "Tomtor_Buranny", "extraction_tax_usd_per_t", 67,
        note="No K_rm relief: 4.8 % x 3.5 on ≈400 USD/t ore.")
    add("tomtor_rosneft", "BuildOptions", "Tomtor_mine", "capex_musd", 0,
        source="TASS2025_Rosneft,Kommersant2025_Tomtor",
        note="Rosneft, 100 % owner since 2025 (TASS2025_Rosneft) with a 150-200 bn RUB plan "
        "(Kommersant2025_Tomtor), builds the mine on its own account for strategic reasons: "
        "the chain's NPV carries no mine capex (the mine's fixed O&M stays; the 500 MUSD of "
        "two units is then outside every NPV the run reports) ...")
    add("tomtor_rosneft", "BuildOptions", "Tomtor_mine", "earliest_year", 2027,
        source="Wiki_Tomtor", note="... starting no earlier than 2027, the announced "
        "production start (Wiki_Tomtor) taken as the construction start.")
    # --- demand
    add("domestic_demand_7500", "Markets", "RU_domestic|*|sell|domestic|*", "max_t", factor=2.5,
        note="Domestic demand stimulated (wind turbines, EV motors) to the 7,500 t/yr "
        "production target (TAdviser_REM) instead of 3,000.", source="TAdviser_REM")
    if DEMAND_SIDE:
        for prod, v in (("NdFeB_magnet", 10_000), ("wind_generator_MW", 45_000)):
            add("demand_stimulation", "Policy", f"domestic_demand_support_usd_per_t|{prod}|",
                "value", v, note=f"The state pays {v:,} USD per "
                + ("t of magnet" if prod == "NdFeB_magnet" else "MW of generator")
                + " sold at home (≈20 % of the price): the paper's first step, stimulating "
                "domestic demand for high-tech products (assumption on the rate).")
    return rows


README_TEXT = [
    "optmodel base case: the Russian rare-earth value chain (default data set, 2026).",
    "Generated by inputs/build_base_case.py; do not edit by hand, edit the script and rerun "
    "it. Explained in docs/base_case.md.",
    "",
    "Chain: Tomtor ore (direct shipping, 14.5 % TREO, 6 % Nb2O5, Sc, Th/U) and Lovozero "
    "loparite concentrate (30 % REO, Nb, Ta) → mixed RE carbonate (+ Nb2O5, Ta2O5, Sc2O3) → "
    "separated oxides (La, Ce, NdPr, DyTb, SEGY = Sm/Eu/Gd/Y/others) → NdPr metal → NdFeB "
    "magnets" + (" → direct-drive wind generators." if DEMAND_SIDE else "."),
    "Existing and committed: Lovozero 7.7 kt/yr concentrate, SMZ cracking 13 kt/yr, SMZ "
    "separation 2,600 t REO/yr from 2027, Rosatom's Glazov magnet plant 1,000 t/yr from 2028.",
    "Candidates: Tomtor mine (2 x 80 kt ore/yr), Tomtor ore cracking at Tomtor, Krasnoyarsk, "
    "Tomsk or Solikamsk, separation, metal and magnet plants at the Siberian technoparks "
    "(Novosibirsk, Tomsk, Krasnoyarsk), Solikamsk and Glazov, SMZ and Lovozero expansions.",
    "Logistics: Tomtor → Anabar Bay by winter road (Dec-Apr, 100 kt/yr) → Northern Sea Route "
    "(Jul-Nov) to Dudinka (Yenisei → Krasnoyarsk), Arkhangelsk (rail → Solikamsk) or China; "
    "rail 0.022 USD/t-km; sea from Vladivostok (Asia, USA) and St Petersburg (EU, Silmet).",
    "Markets: domestic (Moscow, 2,100 t REO in 2026 → 3,000 t from 2030, import-parity "
    "prices), China (Chinese prices ex-VAT), Japan (16 kt), Korea (incl. magnets), EU, USA "
    "(caps = 10 % of the destination's demand), Silmet carbonate; the 2025-26 ex-China "
    "premium markets are closed (max_t 0) until scenario ex_china_premium opens them.",
    f"Prices (USD/kg): NdPr oxide {NDPR_OX_CN / 1000:g}, NdPr metal "
    f"{P['NdPr_metal'] / 1000:g}, Dy/Tb {DYTB_CN / 1000:g} in China and "
    f"{DYTB_EXCN / 1000:g} outside, La {LA_CN / 1000:g}, Ce {CE_CN / 1000:g}, magnets "
    f"{MAGNET_EXPORT / 1000:g} (2024 export value), Nb2O5 {NB_OXIDE / 1000:g} oxide grade / "
    f"{NB_FENB_FEED / 1000:g} as ferroniobium feed, carbonate {CARB_LOP_REO / 1000:.1f}-"
    f"{CARB_TOM_REO / 1000:.1f} per kg REO (indexed to China's concentrate).",
    "Policy rows are neutral (0 or blank) so that scenarios can move them; see the "
    "Scenarios sheet.",
    "Units: t, USD/t, MUSD; constant USD of the 2025-26 price deck; real discount rate 10 %.",
    "source column: Sources rows (comma list) or 'assumption' with the reasoning in note.",
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
    """Fail loudly if a row has no source, names an unknown Sources row, is an assumption
    without a note, or if a Sources row is never cited."""
    cited: set[str] = set()
    for name, df in tabs.items():
        if name == "Sources":
            continue
        for i, (s, note) in enumerate(zip(df["source"].tolist(), df["note"].tolist(),
                                          strict=True), start=2):
            if not s:
                raise ValueError(f"{name} row {i}: blank source")
            if s == A:
                if not note:
                    raise ValueError(f"{name} row {i}: assumption without a note")
                continue
            ids = [x.strip() for x in s.split(",")]
            missing = [x for x in ids if x not in SOURCE_IDS]
            if missing:
                raise ValueError(f"{name} row {i}: unknown source(s) {missing}")
            cited.update(ids)
        for note in df["note"].tolist():
            cited.update(w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]+", note or "")
                         if w in SOURCE_IDS)
    unused = sorted(SOURCE_IDS - cited)
    if unused:
        raise ValueError(f"Sources never cited: {unused}")


# The rows whose figures decide the strategy (ree-facts-3.md §4.4 and the sensitivity runs):
# prices of what is sold, capexes of what is or nearly is built, capacities of existing
# plants, deposit limits.  They must name a public source, never `assumption`.
DECISIVE = {
    "Markets": lambda r: (r["market"] in ("China", "RU_domestic", "RU_FeNb", "China_FeNb",
                                          "EU_Silmet", "Korea", "EU")
                          and r["product"] in ("NdPr_oxide", "NdPr_metal", "NdFeB_magnet",
                                               "Nb2O5", "carbonate_loparite",
                                               "carbonate_tomtor", "Ta2O5")),
    "BuildOptions": lambda r: (r["option"].startswith(("Tomtor_mine", "Magnet_", "Crack_",
                                                       "SepTomtor_", "SepLoparite_"))),
    "NodeProcesses": lambda r: (r["existing_capacity"] or 0) > 0,
    "Deposits": lambda r: True,
}


def decisive_rows(tabs: dict[str, pd.DataFrame]) -> list[tuple[str, int, str]]:
    """(sheet, Excel row, source) of every decisive row."""
    out = []
    for sheet, pick in DECISIVE.items():
        for i, rec in enumerate(tabs[sheet].to_dict("records"), start=2):
            if pick(rec):
                out.append((sheet, i, rec["source"]))
    return out


def source_counts(tabs: dict[str, pd.DataFrame]) -> dict[str, tuple[int, int]]:
    """Per data sheet (and "total"): (rows naming a public source, all rows)."""
    counts: dict[str, tuple[int, int]] = {}
    for name, df in tabs.items():
        if name == "Sources":
            continue
        src = [s for s in df["source"].tolist()]
        counts[name] = (sum(s != A for s in src), len(src))
    counts["total"] = (sum(a for a, _ in counts.values()), sum(b for _, b in counts.values()))
    return counts


COUNTS_START = "<!-- counts:start (written by inputs/build_base_case.py) -->"
COUNTS_END = "<!-- counts:end -->"


def counts_markdown(tabs: dict[str, pd.DataFrame]) -> str:
    counts = source_counts(tabs)
    dec = decisive_rows(tabs)
    n_dec_src = sum(s != A for _, _, s in dec)
    lines = [COUNTS_START, "",
             "| sheet | rows naming a public source | all rows | share |",
             "|---|---|---|---|"]
    for name, (a, b) in counts.items():
        label = "**all data rows**" if name == "total" else name
        lines.append(f"| {label} | {a} | {b} | {a / b:.0%} |")
    lines += ["",
              f"Sources sheet: {len(SOURCES)} documents. Decisive rows (prices of what is "
              "sold, capexes of what is or nearly is built, existing capacities, deposit "
              f"limits): {n_dec_src} of {len(dec)} name a public source. Named scenarios: "
              f"{tabs['Scenarios']['scenario'].nunique()} (plus the implied base). Demand side "
              f"(DEMAND_SIDE) is {'on' if DEMAND_SIDE else 'off'} in this workbook.",
              "", COUNTS_END]
    return "\n".join(lines)


def write_counts(doc: Path, tabs: dict[str, pd.DataFrame]) -> None:
    """Replace the text between the count markers of ``doc`` (if the markers are there)."""
    text = doc.read_text(encoding="utf-8")
    if COUNTS_START not in text or COUNTS_END not in text:
        return
    head, rest = text.split(COUNTS_START, 1)
    _, tail = rest.split(COUNTS_END, 1)
    doc.write_text(head + counts_markdown(tabs) + tail, encoding="utf-8")


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


def build(out: Path = DEFAULT_OUT, docs: Path | None = None) -> Path:
    """Write the workbook to ``out``; with ``docs``, also refresh the counts there."""
    tabs = tables()
    check_sources(tabs)
    write_workbook(Path(out), sheet_specs(tabs), title="optmodel base case")
    if docs is not None:
        write_counts(docs, tabs)
    return Path(out)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    written = build(target, docs=DOCS if len(sys.argv) == 1 else None)
    tabs = tables()
    a, b = source_counts(tabs)["total"]
    dec = decisive_rows(tabs)
    print(f"wrote {written}: {a} of {b} data rows ({a / b:.0%}) name a public source; "
          f"decisive rows sourced: {sum(s != A for _, _, s in dec)} of {len(dec)}")
