# One rule for every figure of the figure catalogue (quirkymad/figures/catalogue.py): each job
# reads exactly the tables its catalogue entry names and calls
# quirkymad.figures.draw(name, tables, png, pdf).


rule plot_figure:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=figure_category,
        ),
        pdf="results/figures/{figure}.pdf",
    params:
        figure=lambda wc: wc.figure,
        caption=figure_caption,
    group: job_group("run")
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_figure/{figure}.log",
    script:
        "../workflow_scripts/plot_figure.py"
